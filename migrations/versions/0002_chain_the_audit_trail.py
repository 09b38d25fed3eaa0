"""Chain the audit trail: sequence numbers, outcome, HMAC links, append-only triggers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:17:50.749548

"""
import hashlib
import hmac
import json

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
POSTGRESQL_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""",
]
SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
]


def _digest(key, row, sequence, outcome, previous):
    """The chain's HMAC as dossiers/audit.py computes it, frozen here for this revision."""
    content = json.dumps(
        [sequence, row.at.isoformat(timespec="microseconds"), row.actor_id, row.action,
         row.object_type, row.object_id, row.dossier_id, row.remote_addr, outcome,
         row.detail, previous],
        separators=(",", ":"),
    )
    return hmac.new(key, content.encode(), hashlib.sha256).hexdigest()


def upgrade():
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_sequence', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))

    # Chain the events written before this revision, in the order they were written.
    connection = op.get_bind()
    events = sa.table('audit_event', sa.column('id'), sa.column('at', sa.DateTime()), sa.column('actor_id'),
                      sa.column('action'), sa.column('object_type'), sa.column('object_id'),
                      sa.column('dossier_id'), sa.column('remote_addr'), sa.column('detail'),
                      sa.column('sequence'), sa.column('outcome'), sa.column('prev_hash'),
                      sa.column('hash'))
    key = current_app.config["AUDIT_KEY"].encode()
    previous, sequence = GENESIS, 0
    for row in connection.execute(sa.select(events).order_by(events.c.id)).all():
        sequence += 1
        link = _digest(key, row, sequence, "ok", previous)
        connection.execute(events.update().where(events.c.id == row.id).values(
            sequence=sequence, outcome="ok", prev_hash=previous, hash=link))
        previous = link
    connection.execute(sa.table('audit_head', sa.column('id'), sa.column('last_sequence'),
                                sa.column('last_hash')).insert().values(
        id=1, last_sequence=sequence, last_hash=previous))

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('sequence', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('outcome', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_event_sequence'), ['sequence'])

    # After the batch operations: on SQLite they rebuild the table, dropping triggers.
    triggers = {"postgresql": POSTGRESQL_TRIGGERS, "sqlite": SQLITE_TRIGGERS}
    for statement in triggers.get(connection.dialect.name, []):
        op.execute(statement)


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    elif connection.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_event_sequence'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('outcome')
        batch_op.drop_column('sequence')

    op.drop_table('audit_head')
