"""What a retention run removes from a dossier whose time is up, and what it keeps.

Removed (personal_data.py lists every column): the free text (the title, replaced by
the reference; the closure reason; assessment summaries; measure descriptions and
execution notes; withdrawal reasons; transition reasons; internal notes; partners'
messages; family relations, whose family and a VIP's days at the event) and the
documents, bytes and names. A person no remaining dossier needs is pseudonymised: named
PSEUDONYM with their id, their function, date of birth and country cleared, their name
out of the search index. A person a kept dossier still needs is kept as is, and the run's
closing sweep pseudonymises them once nothing needs them any more.

Kept: everything the figures read (references, kinds, dates, states and transitions,
levels, grounds, events, categories, measure types, partners and periods) and every row
that makes a person one person (the same row, so that a pseudonymised person still
counts once within and across years). The audit trail holds no personal data and stays
as it is: it still verifies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, func, or_, select, update

from . import documents
from .casework import lock_rows
from .clock import now_utc
from .extensions import db
from .models import Dossier, Person, PersonNameSuffix
from .personal_data import EMPTIED, named_by, named_by_purged, needed

# What a pseudonymised person is called: the same in every language and export, and a
# different name for each person (their id), so that two of them stay two people.
PSEUDONYM = "Person {id}"

_PERSON: Table = Person.__table__  # type: ignore[assignment]

# Persons whose need is decided in one statement: a list the databases take as
# parameters, small enough for PostgreSQL to ask the indexes person by person.
DECIDED_AT_ONCE = 1000

# SQLite: how long each try to empty the write-ahead log waits for the readers and the
# writer in its way (seconds), before the run gives up and says so.
CHECKPOINT_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0)


def pseudonym(person_id: int) -> str:
    return PSEUDONYM.format(id=person_id)


@dataclass(frozen=True)
class Counts:
    dossiers: int = 0
    persons: int = 0  # pseudonymised
    documents: int = 0  # deleted
    texts: int = 0  # free texts cleared

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.dossiers + other.dossiers,
            self.persons + other.persons,
            self.documents + other.documents,
            self.texts + other.texts,
        )

    def __bool__(self) -> bool:
        return any((self.dossiers, self.persons, self.documents, self.texts))


def _clear(model: Any, where: ColumnElement[bool], *columns: Any) -> int:
    """Empty each text column of the rows `where`; how many texts were not empty."""
    cleared = 0
    versioned = hasattr(model, "version")
    for column in columns:
        values: dict[Any, Any] = {column: ""}
        if versioned:  # a form opened before the run is refused, not saved over it
            values[model.version] = model.version + 1
        result = db.session.execute(
            update(model)
            .where(where, func.coalesce(column, "") != "")
            .values(values)
            .execution_options(synchronize_session=False)
        )
        cleared += result.rowcount  # type: ignore[attr-defined]
    return cleared


def _forget(model: Any, where: ColumnElement[bool], *columns: Any) -> None:
    """Set these columns of the rows `where` to NULL."""
    if columns:
        db.session.execute(
            update(model)
            .where(where, or_(*(column.is_not(None) for column in columns)))
            .values({column: None for column in columns})
            .execution_options(synchronize_session=False)
        )


def batch(ids: list[int], still_due: Any) -> Counts:
    """Remove the personal data of these dossiers, in the caller's transaction; those
    no longer due (reopened, put under legal hold meanwhile) are left alone."""
    # Marked first, and only if still due when the row is written: the statement that
    # takes the rows (locks them) is the one that checks them.
    ids = list(
        db.session.scalars(
            update(Dossier)
            .where(Dossier.id.in_(ids), still_due())
            .values(purged_at=now_utc(), version=Dossier.version + 1)
            .returning(Dossier.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not ids:
        return Counts()
    texts = db.session.execute(
        update(Dossier)
        .where(Dossier.id.in_(ids), Dossier.title != Dossier.reference)
        .values(title=Dossier.reference)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    for entry in EMPTIED:
        texts += _clear(entry.model, entry.of_dossiers(ids), *entry.texts)
        _forget(entry.model, entry.of_dossiers(ids), *entry.details)
    removed = documents.remove_of_dossiers(ids)
    persons = _pseudonymise(Person.id.in_(named_by(ids)))
    return Counts(len(ids), persons, removed, texts)


def sweep() -> int:
    """Pseudonymise, in the caller's transaction, every person a purged dossier names (or
    once named) who is not pseudonymised yet and whom no kept dossier needs: a person a
    kept dossier needed when their own dossier was purged, once it no longer does (taken
    out of it, or purged too), and whatever a run interrupted or raced left. A person no
    dossier ever named is not swept: no retention period starts for them."""
    return _pseudonymise(named_by_purged())


def _pseudonymise(candidates: ColumnElement[bool]) -> int:
    """Pseudonymise the persons `candidates` allows that no dossier still needs; how
    many there were."""
    # Locked before deciding, and decided in statements of their own (on PostgreSQL a
    # snapshot taken after the locks): an officer linking one of them into an open
    # dossier has either committed (and the person is needed) or waits, and is then
    # refused (casework.link_person locks the person too).
    locked = lock_rows(Person, and_(Person.pseudonymised_at.is_(None), candidates))
    done = 0
    for start in range(0, len(locked), DECIDED_AT_ONCE):
        chunk = Person.id.in_(locked[start : start + DECIDED_AT_ONCE])
        changed = list(db.session.scalars(select(Person.id).where(chunk, ~needed())))
        if changed:
            _replace(changed)
            done += len(changed)
    return done


def _replace(person_ids: list[int]) -> None:
    """Name these persons by their pseudonym, clear the rest, forget their name's index."""
    db.session.execute(delete(PersonNameSuffix).where(PersonNameSuffix.person_id.in_(person_ids)))
    db.session.execute(
        update(_PERSON)
        .where(_PERSON.c.id == bindparam("person_id"))
        .values(
            name=bindparam("pseudonym"),
            function="",
            date_of_birth=None,
            country=None,
            pseudonymised_at=now_utc(),
            version=_PERSON.c.version + 1,
        ),
        [{"person_id": i, "pseudonym": pseudonym(i)} for i in person_ids],
    )


def forget_old_pages(waits: tuple[float, ...] | None = None) -> bool:
    """On SQLite, move the write-ahead log into the database file and empty it: its
    older page images still hold what the run removed (the file itself zeroes removed
    content: extensions.py turns on secure_delete). A reader or a writer in the way makes
    a try fail; each next one waits longer (CHECKPOINT_WAITS). False when every try
    failed. PostgreSQL keeps the old row versions until VACUUM reuses their space."""
    if db.engine.dialect.name != "sqlite":
        return True
    with db.engine.connect() as connection:
        pragma = connection.exec_driver_sql
        before = pragma("PRAGMA busy_timeout").scalar()
        try:
            for wait in waits or CHECKPOINT_WAITS:
                # SQLite's own busy handler waits for the readers to leave the log.
                pragma(f"PRAGMA busy_timeout = {int(wait * 1000)}")
                busy, _, _ = pragma("PRAGMA wal_checkpoint(TRUNCATE)").one()
                if not busy:
                    return True
                time.sleep(wait / 10)  # let the writer that was in the way finish
        finally:
            pragma(f"PRAGMA busy_timeout = {int(before or 0)}")
    return False
