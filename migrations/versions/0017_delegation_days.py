"""A VIP's own days at an event (arrival and departure, from a delegation list)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 00:55:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossier_person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arrival_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('departure_date', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('dossier_person', schema=None) as batch_op:
        batch_op.drop_column('departure_date')
        batch_op.drop_column('arrival_date')
