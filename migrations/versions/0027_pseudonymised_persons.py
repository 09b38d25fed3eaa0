"""When a retention run pseudonymised a person: such a person is linked to no dossier
again, and a run's closing sweep finds those not yet done

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01 07:30:00

"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('person') as batch:
        batch.add_column(sa.Column('pseudonymised_at', sa.DateTime(), nullable=True))
    # The persons a run before this revision pseudonymised: named "Person <id>" (its own
    # copy of dossiers.purge.PSEUDONYM), with nothing else left; marked now, in UTC
    # without a zone as every stored time.
    op.get_bind().execute(
        sa.text(
            "UPDATE person SET pseudonymised_at = :now "
            "WHERE name = 'Person ' || CAST(id AS VARCHAR(20)) AND function = '' "
            "AND date_of_birth IS NULL AND country IS NULL"
        ),
        {'now': dt.datetime.now(dt.UTC).replace(tzinfo=None)},
    )


def downgrade():
    with op.batch_alter_table('person') as batch:
        batch.drop_column('pseudonymised_at')
