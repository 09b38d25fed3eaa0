"""A document attached by mistake is withdrawn: its bytes and name go, its line stays with
who withdrew it, when and why

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-01 11:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('document') as batch:
        batch.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column('withdrawal_reason', sa.Text(), nullable=False, server_default='')
        )
        batch.create_foreign_key(
            'fk_document_withdrawn_by_id_user_account',
            'user_account',
            ['withdrawn_by_id'],
            ['id'],
        )


def downgrade():
    with op.batch_alter_table('document') as batch:
        batch.drop_constraint('fk_document_withdrawn_by_id_user_account', type_='foreignkey')
        batch.drop_column('withdrawal_reason')
        batch.drop_column('withdrawn_by_id')
        batch.drop_column('withdrawn_at')
