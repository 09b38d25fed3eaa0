"""Second-factor hardening: failed codes counted per account on the server (a `step`
on login_failure), one-time enrolment codes, and TOTP secrets encrypted at rest with
the configured TOTP_KEYS (existing secrets are encrypted here)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 23:50:00

"""
import sqlalchemy as sa
from alembic import op

from dossiers.sealing import seal, unseal

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

users = sa.table("user_account", sa.column("id", sa.Integer), sa.column("totp_secret", sa.String))


def _rewrite(change):
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(users.c.id, users.c.totp_secret).where(users.c.totp_secret.is_not(None))
    ).all()
    for user_id, secret in rows:
        connection.execute(
            users.update().where(users.c.id == user_id).values(totp_secret=change(secret))
        )


def upgrade():
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('step', sa.String(length=16), nullable=False, server_default='password')
        )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enrolment_code_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('enrolment_code_expires_at', sa.DateTime(), nullable=True))
        batch_op.alter_column(
            'totp_secret', existing_type=sa.String(length=64), type_=sa.String(length=255)
        )
    _rewrite(seal)


def downgrade():
    _rewrite(unseal)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column(
            'totp_secret', existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
        batch_op.drop_column('enrolment_code_expires_at')
        batch_op.drop_column('enrolment_code_hash')
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_column('step')
