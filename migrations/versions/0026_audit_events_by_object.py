"""The audit trail indexed by action and object, for the access report (a person's
events, an event's reads); it replaces the index on the action alone, which it leads

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01 07:00:00

"""
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_audit_event_action_object', 'audit_event', ['action', 'object_type', 'object_id']
    )
    op.drop_index('ix_audit_event_action', table_name='audit_event')


def downgrade():
    op.create_index('ix_audit_event_action', 'audit_event', ['action'])
    op.drop_index('ix_audit_event_action_object', table_name='audit_event')
