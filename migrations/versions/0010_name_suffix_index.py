"""Search by name through the endings of names (one b-tree) instead of trigrams

The FTS5 trigram table (SQLite) and the pg_trgm GIN index (PostgreSQL) of revision 0005
read the posting lists of every trigram of the query: their cost grew with the number
of persons. Every ending of every folded name now sits in `person_name_suffix`, and a
search is a range of its primary key.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 02:05:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

MIN_LENGTH = 3
BATCH = 5000


def suffixes(name):
    """A frozen copy of dossiers.names.suffixes at this revision."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return {
        folded[start:]
        for start in range(len(folded) - MIN_LENGTH + 1)
        if not folded[start].isspace()
    }


def upgrade():
    bind = op.get_bind()
    op.create_table(
        "person_name_suffix",
        sa.Column("suffix", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
                  nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"],
                                name=op.f("fk_person_name_suffix_person_id_person")),
        sa.PrimaryKeyConstraint("suffix", "person_id", name=op.f("pk_person_name_suffix")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("person_name_suffix", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_name_suffix_person_id"), ["person_id"],
                              unique=False)
    table = sa.table("person_name_suffix", sa.column("suffix"), sa.column("person_id"))
    rows = []
    for person_id, name in bind.execute(sa.text("SELECT id, name FROM person ORDER BY id")):
        rows.extend({"suffix": s, "person_id": person_id} for s in sorted(suffixes(name)))
        if len(rows) >= BATCH:
            bind.execute(sa.insert(table), rows)
            rows = []
    if rows:
        bind.execute(sa.insert(table), rows)
    if bind.dialect.name == "sqlite":
        for trigger in ("person_fts_insert", "person_fts_delete", "person_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS person_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_person_name_trgm")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # As revision 0005 wrote them.
        op.execute("""CREATE VIRTUAL TABLE person_fts USING fts5(
            name, content='person', content_rowid='id', tokenize='trigram')""")
        op.execute("""CREATE TRIGGER person_fts_insert AFTER INSERT ON person BEGIN
            INSERT INTO person_fts(rowid, name) VALUES (new.id, new.name); END""")
        op.execute("""CREATE TRIGGER person_fts_delete AFTER DELETE ON person BEGIN
            INSERT INTO person_fts(person_fts, rowid, name) VALUES ('delete', old.id, old.name);
            END""")
        op.execute("""CREATE TRIGGER person_fts_update AFTER UPDATE OF name ON person BEGIN
            INSERT INTO person_fts(person_fts, rowid, name) VALUES ('delete', old.id, old.name);
            INSERT INTO person_fts(rowid, name) VALUES (new.id, new.name); END""")
        op.execute("INSERT INTO person_fts(person_fts) VALUES ('rebuild')")
    else:
        op.execute("CREATE INDEX ix_person_name_trgm ON person USING gin (name gin_trgm_ops)")
    with op.batch_alter_table("person_name_suffix", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_name_suffix_person_id"))
    op.drop_table("person_name_suffix")
