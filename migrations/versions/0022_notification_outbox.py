"""The notification outbox: mails written in the transaction of the change that causes
them, sent by `flask notify`; an organisation's mail language

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 05:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisation') as batch:
        batch.add_column(
            sa.Column('language', sa.String(length=5), nullable=False, server_default='nl')
        )
    op.create_table(
        'notification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('address', sa.String(length=254), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('reference', sa.String(length=20), nullable=False),
        sa.Column('link', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id']),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_notification_due', 'notification', ['status', 'next_attempt_at', 'id'])


def downgrade():
    op.drop_index('ix_notification_due', table_name='notification')
    op.drop_table('notification')
    with op.batch_alter_table('organisation') as batch:
        batch.drop_column('language')
