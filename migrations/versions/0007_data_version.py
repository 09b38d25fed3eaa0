"""The audit head remembers the newest event that changed data

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 20:05:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('data_version', sa.Integer(), server_default='0', nullable=False)
        )
    # Unknown before this revision: take the newest event, so that nothing cached is reused.
    op.execute("UPDATE audit_head SET data_version = last_sequence")


def downgrade():
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('data_version')
