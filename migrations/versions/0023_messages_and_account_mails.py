"""Partners' messages on their measures, single-use account links, mails made once
(reminders, digests), and each user's previous visit

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 06:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification') as batch:
        batch.add_column(sa.Column('dedupe_key', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column('details', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('secret', sa.String(length=255), nullable=True))
        batch.create_unique_constraint('uq_notification_dedupe_key', ['dedupe_key'])
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('previous_visit_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('password_chosen_at', sa.DateTime(), nullable=True))
    # The accounts there are chose their passwords, but a first one an admin set.
    op.execute(
        "UPDATE user_account SET password_chosen_at = created_at WHERE NOT must_change_password"
    )
    op.create_table(
        'account_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=32), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('sent_to', sa.String(length=254), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_account_token_user_id', 'account_token', ['user_id'])
    op.create_table(
        'measure_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('measure_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('handled_at', sa.DateTime(), nullable=True),
        sa.Column('handled_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['measure_id'], ['measure.id']),
        sa.ForeignKeyConstraint(['author_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id']),
        sa.ForeignKeyConstraint(['handled_by_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_measure_message_measure_id', 'measure_message', ['measure_id'])
    op.create_index('ix_measure_message_open', 'measure_message', ['handled_at', 'created_at'])


def downgrade():
    op.drop_index('ix_measure_message_open', table_name='measure_message')
    op.drop_index('ix_measure_message_measure_id', table_name='measure_message')
    op.drop_table('measure_message')
    op.drop_index('ix_account_token_user_id', table_name='account_token')
    op.drop_table('account_token')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('password_chosen_at')
        batch.drop_column('previous_visit_at')
    with op.batch_alter_table('notification') as batch:
        batch.drop_constraint('uq_notification_dedupe_key', type_='unique')
        batch.drop_column('secret')
        batch.drop_column('details')
        batch.drop_column('dedupe_key')
