"""A partner's current measures are the decided ones not lifted: the partial index says
both, so that counting a partner's list reads the index alone, not every measure row

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 12:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# As dossiers.models.CURRENT_MEASURE_SQL at this revision, and before it.
CURRENT = "status <> 'lifted' AND decided_at IS NOT NULL"
BEFORE = "status <> 'lifted'"


def _recreate(where: str) -> None:
    op.drop_index("ix_measure_partner_current", table_name="measure")
    op.create_index(
        "ix_measure_partner_current",
        "measure",
        ["organisation_id", "start_date", "id"],
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade():
    _recreate(CURRENT)


def downgrade():
    _recreate(BEFORE)
