"""Events planned on their own pages: an event's host, and the event page's view as a
read of personal data (its VIPs), so the index of a dossier's writes leaves it out too

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 00:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# As dossiers.models.WRITES_SQL before and after this revision.
BEFORE = (
    "outcome = 'ok' AND action NOT IN ('audit.export', 'dossier.view', 'measure.view', "
    "'person.search', 'statistics.drill', 'statistics.export')"
)
AFTER = (
    "outcome = 'ok' AND action NOT IN ('audit.export', 'dossier.view', 'event.view', "
    "'measure.view', 'person.search', 'statistics.drill', 'statistics.export')"
)


def _writes_index(predicate):
    op.drop_index("ix_audit_event_dossier_writes", table_name="audit_event")
    op.create_index(
        "ix_audit_event_dossier_writes",
        "audit_event",
        ["dossier_id", "at", "sequence"],
        sqlite_where=sa.text(predicate),
        postgresql_where=sa.text(predicate),
    )


def upgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('host', sa.String(length=120), nullable=False, server_default='')
        )
    _writes_index(AFTER)


def downgrade():
    _writes_index(BEFORE)
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('host')
