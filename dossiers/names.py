"""Search persons by any part of their name through an index, on both databases.

A `LIKE '%…%'` cannot use a b-tree index, and a trigram index (pg_trgm, FTS5) reads the
posting lists of every trigram of the query: at a hundred times the volume a full name
cost PostgreSQL 15–30 ms, growing with the table. Instead every ending of every name is
kept, folded, in `person_name_suffix`: a part of a name is the start of one of its
endings, so a search is one range of one b-tree and costs what it finds.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from sqlalchemy import Select, delete, insert, inspect, select
from sqlalchemy import event as sa_event

from .extensions import db
from .models import Person, PersonNameSuffix

MIN_LENGTH = 3  # shorter parts would match most of the table


def fold(text: str) -> str:
    """Case, accents and compatibility forms folded, so that "DUBOIS", "dubois" and
    "Dubois" match, and "chloe" finds "Chloé". A change here needs a migration that
    rewrites person_name_suffix (0020 did)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def suffixes(name: str) -> set[str]:
    """The endings of a name that a search can start with (not with a space: the search
    text is stripped)."""
    folded = fold(name)
    return {
        folded[start:]
        for start in range(len(folded) - MIN_LENGTH + 1)
        if not folded[start].isspace()
    }


def suffix_rows(persons: Iterable[tuple[int, str]]) -> list[dict]:
    return [
        {"suffix": ending, "person_id": person_id}
        for person_id, name in persons
        for ending in sorted(suffixes(name))
    ]


def searchable(text: str) -> bool:
    return len(fold(text.strip())) >= MIN_LENGTH


def person_ids_named(text: str) -> Select:
    """The ids of persons whose name contains the text (at least MIN_LENGTH letters)."""
    start = fold(text.strip())
    following = start[:-1] + chr(ord(start[-1]) + 1)
    return select(PersonNameSuffix.person_id).where(
        PersonNameSuffix.suffix >= start, PersonNameSuffix.suffix < following
    )


def persons_named(text: str, cap: int) -> list[int] | Select:
    """The ids of persons whose name contains the text, read first: a list when there
    are at most `cap` of them, else the query itself (for the database to join)."""
    query = person_ids_named(text)
    found = list(db.session.scalars(query.limit(cap + 1)))
    ids = list(dict.fromkeys(found))  # a name holding the text twice is one person
    return ids if len(found) <= cap else query


# The suffixes follow the names: written with each new person, rewritten on a rename.
# Bulk inserts that bypass the ORM (seed-scale) call suffix_rows themselves.


def _write_suffixes(connection, person: Person) -> None:
    rows = suffix_rows([(person.id, person.name)])
    if rows:  # a name under three characters has none
        connection.execute(insert(PersonNameSuffix), rows)


@sa_event.listens_for(Person, "after_insert")
def _index_new_name(_mapper, connection, person: Person) -> None:
    _write_suffixes(connection, person)


@sa_event.listens_for(Person, "after_update")
def _index_new_spelling(_mapper, connection, person: Person) -> None:
    if not inspect(person).attrs.name.history.has_changes():
        return
    connection.execute(delete(PersonNameSuffix).where(PersonNameSuffix.person_id == person.id))
    _write_suffixes(connection, person)


@sa_event.listens_for(Person, "before_delete")
def _forget_name(_mapper, connection, person: Person) -> None:
    connection.execute(delete(PersonNameSuffix).where(PersonNameSuffix.person_id == person.id))
