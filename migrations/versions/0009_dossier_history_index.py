"""Index a dossier's writes apart from its reads, so its history costs the same after
years of views

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 01:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# As dossiers.models.WRITES_SQL at this revision; the queries spell it the same way.
WRITES = (
    "outcome = 'ok' AND action NOT IN ('audit.export', 'dossier.view', 'measure.view', "
    "'person.search', 'statistics.drill', 'statistics.export')"
)


def upgrade():
    op.create_index(
        "ix_audit_event_dossier_writes",
        "audit_event",
        ["dossier_id", "at", "sequence"],
        sqlite_where=sa.text(WRITES),
        postgresql_where=sa.text(WRITES),
    )


def downgrade():
    op.drop_index("ix_audit_event_dossier_writes", table_name="audit_event")
