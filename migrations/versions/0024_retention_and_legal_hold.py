"""Retention: a dossier's legal hold (reason, when, by whom), when its personal data was
removed, and the persons' measures and assessments indexed

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 07:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossier') as batch:
        batch.add_column(
            sa.Column('legal_hold_reason', sa.Text(), nullable=False, server_default='')
        )
        batch.add_column(sa.Column('legal_hold_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('legal_hold_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('purged_at', sa.DateTime(), nullable=True))
        batch.create_foreign_key(
            'fk_dossier_legal_hold_by_id_user_account',
            'user_account',
            ['legal_hold_by_id'],
            ['id'],
        )
    # A retention run asks whether a kept dossier still names a person.
    op.create_index('ix_measure_person_id', 'measure', ['person_id'])
    op.create_index('ix_threat_assessment_person_id', 'threat_assessment', ['person_id'])


def downgrade():
    op.drop_index('ix_threat_assessment_person_id', table_name='threat_assessment')
    op.drop_index('ix_measure_person_id', table_name='measure')
    with op.batch_alter_table('dossier') as batch:
        batch.drop_constraint('fk_dossier_legal_hold_by_id_user_account', type_='foreignkey')
        batch.drop_column('purged_at')
        batch.drop_column('legal_hold_by_id')
        batch.drop_column('legal_hold_at')
        batch.drop_column('legal_hold_reason')
