"""Indexes for lists read in key order and for search by name or reference

Person names: FTS5 trigram table on SQLite, pg_trgm GIN index on PostgreSQL;
references compared byte by byte (C collation) on PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:50:00

Note for later revisions: a batch (copy-and-move) alteration of `person` on SQLite drops
its triggers; run this revision's statements again after one.
"""
from alembic import op

# Frozen copies of dossiers/names.py at this revision.
SQLITE_INDEX = [
    """CREATE VIRTUAL TABLE person_fts USING fts5(
        name, content='person', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER person_fts_insert AFTER INSERT ON person BEGIN
        INSERT INTO person_fts(rowid, name) VALUES (new.id, new.name); END""",
    """CREATE TRIGGER person_fts_delete AFTER DELETE ON person BEGIN
        INSERT INTO person_fts(person_fts, rowid, name) VALUES ('delete', old.id, old.name);
        END""",
    """CREATE TRIGGER person_fts_update AFTER UPDATE OF name ON person BEGIN
        INSERT INTO person_fts(person_fts, rowid, name) VALUES ('delete', old.id, old.name);
        INSERT INTO person_fts(rowid, name) VALUES (new.id, new.name); END""",
    "INSERT INTO person_fts(person_fts) VALUES ('rebuild')",
]
POSTGRESQL_INDEX = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_person_name_trgm ON person USING gin (name gin_trgm_ops)",
    # Byte order, so that a search by the start of a reference is an index range.
    'ALTER TABLE dossier ALTER COLUMN reference TYPE VARCHAR(20) COLLATE "C"',
]

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_dossier_opened_on_id", "dossier", ["opened_on", "id"])
    op.create_index("ix_dossier_year_opened_on", "dossier", ["year", "opened_on"])
    op.drop_index("ix_measure_organisation_status", table_name="measure")
    op.create_index(
        "ix_measure_partner_list", "measure", ["organisation_id", "status", "start_date", "id"]
    )
    statements = SQLITE_INDEX if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_INDEX
    for statement in statements:
        op.execute(statement)


def downgrade():
    op.drop_index("ix_measure_partner_list", table_name="measure")
    op.create_index("ix_measure_organisation_status", "measure", ["organisation_id", "status"])
    op.drop_index("ix_dossier_year_opened_on", table_name="dossier")
    op.drop_index("ix_dossier_opened_on_id", table_name="dossier")
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("person_fts_insert", "person_fts_delete", "person_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS person_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_person_name_trgm")
        op.execute('ALTER TABLE dossier ALTER COLUMN reference TYPE VARCHAR(20) COLLATE "default"')
