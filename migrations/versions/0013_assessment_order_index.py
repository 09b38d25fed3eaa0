"""A dossier's assessments indexed in the order that makes the latest the current one
(dossier, assessed_on, id), in place of the index on the dossier alone: a list that
shows each dossier's current level reads one index entry per dossier instead of
sorting its assessments

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 13:15:00

"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_threat_assessment_dossier_order",
        "threat_assessment",
        ["dossier_id", "assessed_on", "id"],
    )
    op.drop_index("ix_threat_assessment_dossier_id", table_name="threat_assessment")


def downgrade():
    op.create_index("ix_threat_assessment_dossier_id", "threat_assessment", ["dossier_id"])
    op.drop_index("ix_threat_assessment_dossier_order", table_name="threat_assessment")
