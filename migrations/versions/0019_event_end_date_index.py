"""Events by their last day: the events list finds those not yet over, and pages the
past, without reading every event

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 02:40:00

"""
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_event_end_date', 'event', ['end_date', 'id'])


def downgrade():
    op.drop_index('ix_event_end_date', table_name='event')
