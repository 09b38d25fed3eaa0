"""Indexes for the current work: a partner's measures that are not lifted, and the open
dossiers by the review date of their current assessment (now kept on the dossier)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 01:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# As dossiers.models at this revision: CURRENT_MEASURE_SQL, OPEN_DOSSIER_SQL and
# REVIEW_DATE_SQL.
CURRENT = "status <> 'lifted'"
OPEN = "state <> 'closed'"
REVIEW_DATES = (
    "UPDATE dossier SET review_on = (SELECT ta.review_on FROM threat_assessment ta "
    "WHERE ta.dossier_id = dossier.id ORDER BY ta.assessed_on DESC, ta.id DESC LIMIT 1)"
)


def upgrade():
    op.create_index(
        "ix_measure_partner_current",
        "measure",
        ["organisation_id", "start_date", "id"],
        sqlite_where=sa.text(CURRENT),
        postgresql_where=sa.text(CURRENT),
    )
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_on", sa.Date(), nullable=True))
    op.execute(REVIEW_DATES)
    op.create_index(
        "ix_dossier_open_review_on",
        "dossier",
        ["review_on", "id"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade():
    op.drop_index("ix_dossier_open_review_on", table_name="dossier")
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_column("review_on")
    op.drop_index("ix_measure_partner_current", table_name="measure")
