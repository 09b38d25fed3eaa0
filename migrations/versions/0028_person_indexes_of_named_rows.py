"""The indexes of an assessment's and a measure's person hold only the rows for a person:
with most rows for the whole dossier, SQLite's statistics made a retention run read the
whole table for each person it asked about

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-01 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

TABLES = ("threat_assessment", "measure")
NAMED = sa.text("person_id IS NOT NULL")


def upgrade():
    for table in TABLES:
        op.drop_index(f"ix_{table}_person_id", table_name=table)
        op.create_index(
            f"ix_{table}_person_id",
            table,
            ["person_id"],
            sqlite_where=NAMED,
            postgresql_where=NAMED,
        )


def downgrade():
    for table in TABLES:
        op.drop_index(f"ix_{table}_person_id", table_name=table)
        op.create_index(f"ix_{table}_person_id", table, ["person_id"])
