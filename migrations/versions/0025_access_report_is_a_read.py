"""The administrator's access report ("who read this dossier or person") is a read:
left out of the index of a dossier's writes, like the other reads

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

# As dossiers.models.WRITES_SQL before and after this revision.
WRITES_BEFORE = (
    "outcome = 'ok' AND action NOT IN ('audit.export', 'document.download', 'dossier.print', "
    "'dossier.view', 'event.view', 'measure.view', 'person.search', 'statistics.drill', "
    "'statistics.export')"
)
WRITES_AFTER = (
    "outcome = 'ok' AND action NOT IN ('audit.access_report', 'audit.export', "
    "'document.download', 'dossier.print', 'dossier.view', 'event.view', 'measure.view', "
    "'person.search', 'statistics.drill', 'statistics.export')"
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
    _writes_index(WRITES_AFTER)


def downgrade():
    _writes_index(WRITES_BEFORE)
