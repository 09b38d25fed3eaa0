"""Standard measure sets: per VIP category, the measure types and partners proposed
for every VIP of that category at an event

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 00:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'standard_measure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('category', sa.Enum('head_of_state', 'head_of_government', 'minister', 'other', name='vipcategory', native_enum=False, create_constraint=False, length=32), nullable=False),
        sa.Column('measure_type_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['measure_type_id'], ['measure_type.id'], name=op.f('fk_standard_measure_measure_type_id_measure_type')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_standard_measure_organisation_id_organisation')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_standard_measure')),
        sa.UniqueConstraint('category', 'measure_type_id', 'organisation_id', name=op.f('uq_standard_measure_category_measure_type_id_organisation_id')),
    )


def downgrade():
    op.drop_table('standard_measure')
