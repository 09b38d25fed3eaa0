"""What a retention run removes from a dossier whose time is up, and what it keeps.

Removed: the free text (the title, replaced by the reference; the closure reason;
assessment summaries; measure descriptions and execution notes; withdrawal reasons;
transition reasons; internal notes; partners' messages; family relations) and the
documents, bytes and names. A person no remaining dossier needs is pseudonymised: named
PSEUDONYM with their id, their function, date of birth and country cleared, their name
out of the search index. A person a kept dossier still needs is kept as is.

Kept: everything the figures read (references, kinds, dates, states and transitions,
levels, grounds, events, categories, measure types, partners and periods) and every row
that makes a person one person (the same row, so that a pseudonymised person still
counts once within and across years). The audit trail holds no personal data and stays
as it is: it still verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    union,
    update,
)

from . import documents
from .clock import now_utc
from .extensions import db
from .models import (
    AuditEvent,
    Dossier,
    DossierNote,
    DossierPerson,
    Measure,
    MeasureMessage,
    Person,
    PersonNameSuffix,
    ThreatAssessment,
    Transition,
)

# What a pseudonymised person is called: the same in every language and export, and a
# different name for each person (their id), so that two of them stay two people.
PSEUDONYM = "Person {id}"

_PERSON: Table = Person.__table__  # type: ignore[assignment]


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


def batch(ids: list[int], still_due: Callable[[], ColumnElement[bool]]) -> Counts:
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
    of_batch = Dossier.id.in_(ids)
    texts = db.session.execute(
        update(Dossier)
        .where(of_batch, Dossier.title != Dossier.reference)
        .values(title=Dossier.reference)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    texts += _clear(Dossier, of_batch, Dossier.closure_reason, Dossier.legal_hold_reason)
    in_batch = ThreatAssessment.dossier_id.in_(ids)
    texts += _clear(
        ThreatAssessment, in_batch, ThreatAssessment.summary, ThreatAssessment.withdrawal_reason
    )
    texts += _clear(
        Measure,
        Measure.dossier_id.in_(ids),
        Measure.description,
        Measure.execution_note,
        Measure.withdrawal_reason,
    )
    measures = select(Measure.id).where(Measure.dossier_id.in_(ids))
    texts += _clear(MeasureMessage, MeasureMessage.measure_id.in_(measures), MeasureMessage.reason)
    texts += _clear(Transition, Transition.dossier_id.in_(ids), Transition.reason)
    texts += _clear(DossierNote, DossierNote.dossier_id.in_(ids), DossierNote.body)
    texts += _clear(DossierPerson, DossierPerson.dossier_id.in_(ids), DossierPerson.relation)
    removed = documents.remove_of_dossiers(ids)
    persons = _pseudonymise(named_by(ids))
    return Counts(len(ids), persons, removed, texts)


def named_by(ids: list[int]) -> Any:
    """Everyone these dossiers name: their persons, those their measures and assessments
    are for, and those once taken out of them (also the access report's list of a
    dossier's persons)."""
    return union(
        select(DossierPerson.person_id).where(DossierPerson.dossier_id.in_(ids)),
        select(Measure.person_id).where(Measure.dossier_id.in_(ids)),
        select(ThreatAssessment.person_id).where(ThreatAssessment.dossier_id.in_(ids)),
        select(AuditEvent.object_id).where(
            AuditEvent.dossier_id.in_(ids), AuditEvent.action == "dossier.person_remove"
        ),
    )


def needed() -> ColumnElement[bool]:
    """A person a dossier not purged still names: one of its persons, or the person one of
    its measures or assessments is for."""
    kept = Dossier.purged_at.is_(None)
    return or_(
        exists().where(
            DossierPerson.person_id == Person.id, Dossier.id == DossierPerson.dossier_id, kept
        ),
        exists().where(Measure.person_id == Person.id, Dossier.id == Measure.dossier_id, kept),
        exists().where(
            ThreatAssessment.person_id == Person.id,
            Dossier.id == ThreatAssessment.dossier_id,
            kept,
        ),
    )


def _pseudonymise(candidates: Any) -> int:
    """Pseudonymise the candidates no dossier still needs; how many were not already."""
    rows = db.session.execute(
        select(Person.id, Person.name, Person.function, Person.date_of_birth, Person.country)
        .where(Person.id.in_(candidates), ~needed())
        .order_by(Person.id)
    ).all()
    changed = [
        row.id
        for row in rows
        if row.name != pseudonym(row.id) or row.function or row.date_of_birth or row.country
    ]
    if not changed:
        return 0
    db.session.execute(delete(PersonNameSuffix).where(PersonNameSuffix.person_id.in_(changed)))
    db.session.execute(
        update(_PERSON)
        .where(_PERSON.c.id == bindparam("person_id"))
        .values(
            name=bindparam("pseudonym"),
            function="",
            date_of_birth=None,
            country=None,
            version=_PERSON.c.version + 1,
        ),
        [{"person_id": i, "pseudonym": pseudonym(i)} for i in changed],
    )
    return len(changed)


def forget_old_pages() -> None:
    """On SQLite, move the write-ahead log into the database file and empty it: its
    older page images still hold what the run removed (the file itself zeroes removed
    content: extensions.py turns on secure_delete). PostgreSQL keeps the old row
    versions until VACUUM reuses their space."""
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
