"""Index the measures waiting for a partner's acknowledgement, oldest decision first

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 20:40:00

"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_measure_status_decided_at", "measure", ["status", "decided_at"])


def downgrade():
    op.drop_index("ix_measure_status_decided_at", table_name="measure")
