"""Version counters against lost updates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:00:10.616187

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))

    with op.batch_alter_table('measure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))



def downgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('version')

    with op.batch_alter_table('measure', schema=None) as batch_op:
        batch_op.drop_column('version')

    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('version')

