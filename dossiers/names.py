"""Search persons by any part of their name through an index, on both databases.

A `LIKE '%…%'` cannot use a b-tree index, so at a hundred times the volume it would read
every person. SQLite keeps an FTS5 table with the trigram tokenizer beside `person`
(kept in step by triggers); PostgreSQL keeps a pg_trgm GIN index on `person.name`.
Both find any part of a name of three letters or more, ignoring case.
"""

from __future__ import annotations

from sqlalchemy import Select, column, select, table

from .extensions import db
from .models import NAME_INDEX_OBJECTS, Person

MIN_LENGTH = 3  # a trigram index cannot look up anything shorter

_fts = table("person_fts", column("rowid"), column("name"))


def is_index_object(name: str | None) -> bool:
    return bool(name) and any(str(name).startswith(n) for n in NAME_INDEX_OBJECTS)


def searchable(text: str) -> bool:
    return len(text.strip()) >= MIN_LENGTH


def person_ids_named(text: str) -> Select:
    """The ids of persons whose name contains the text (at least MIN_LENGTH letters)."""
    text = text.strip()
    if db.session.get_bind().dialect.name == "sqlite":
        phrase = '"' + text.replace('"', '""') + '"'
        return select(_fts.c.rowid).where(_fts.c.name.op("MATCH")(phrase))
    return select(Person.id).where(Person.name.ilike(f"%{escape_like(text)}%", escape="\\"))


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
