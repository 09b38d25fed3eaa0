"""What officers and partners do to a dossier, apart from moving it (workflow.py).

Each function checks the domain rule, writes, and records the audit event in the
caller's transaction; the caller commits once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.exc import IntegrityError

from . import audit, names
from .clock import day, today
from .extensions import db
from .models import (
    AssessmentSource,
    Dossier,
    DossierKind,
    DossierNote,
    DossierPerson,
    DossierState,
    Event,
    Person,
    ReferenceCounter,
    Role,
    ThreatAssessment,
    ThreatGround,
    User,
    VipCategory,
)
from .refusals import Refused


def next_sequence(kind: DossierKind, year: int) -> int:
    """Hand out the next sequence number of a kind and year.

    The counter row is updated before it is read, so the row (PostgreSQL) or the
    database (SQLite) stays locked by this transaction until it commits: two officers
    creating dossiers at once get different numbers, without gaps.
    """
    bump = (
        update(ReferenceCounter)
        .where(ReferenceCounter.kind == kind, ReferenceCounter.year == year)
        .values(last_sequence=ReferenceCounter.last_sequence + 1)
    )
    if db.session.execute(bump).rowcount == 0:  # type: ignore[attr-defined]
        try:
            with db.session.begin_nested():
                db.session.add(ReferenceCounter(kind=kind, year=year, last_sequence=0))
        except IntegrityError:
            pass  # another transaction created it first; the bump below waits for it
        db.session.execute(bump)
    return (
        db.session.scalar(
            select(ReferenceCounter.last_sequence).where(
                ReferenceCounter.kind == kind, ReferenceCounter.year == year
            )
        )
        or 0
    )


def create_dossier(
    *,
    kind: DossierKind,
    title: str,
    opened_on: dt.date,
    actor: User,
    ground: ThreatGround | None = None,
    lead_officer: User | None = None,
) -> Dossier:
    if opened_on > today():
        raise Refused(_l("A dossier cannot be opened in the future."), "opened_on")
    first_year = current_app.config["FIRST_YEAR"]
    if opened_on.year < first_year:
        raise Refused(
            _l("The centre's dossiers start in %(year)d: give a later date.", year=first_year),
            "opened_on",
        )
    if kind is DossierKind.VIP_PROTECTION and ground is not None:
        raise Refused(
            _l("A VIP protection dossier has no ground of threat: leave it empty."), "ground"
        )
    sequence = next_sequence(kind, opened_on.year)
    dossier = Dossier(
        reference=f"{kind.prefix}-{opened_on.year}-{sequence:04d}",
        kind=kind,
        year=opened_on.year,
        sequence=sequence,
        title=title.strip(),
        state=DossierState.INTAKE,
        opened_on=opened_on,
        ground=ground,
        lead_officer=lead_officer or actor,
    )
    db.session.add(dossier)
    db.session.flush()
    audit.record(
        "dossier.create",
        actor=actor,
        object_type="dossier",
        object_id=dossier.id,
        dossier=dossier,
        kind=kind.value,
    )
    return dossier


# Nothing is added to a dossier a retention run purged: no later run would remove it.
PURGED = _l("Its personal data was removed after its retention period: open a new dossier.")


def require_not_purged(dossier: Dossier) -> None:
    """Refuse any change to a dossier whose personal data a retention run removed: every
    write path that can add a text, a person or a document to a dossier passes here (as
    part of require_open for those an open dossier needs)."""
    if dossier.purged_at is not None:
        raise Refused(PURGED)


def require_open(dossier: Dossier) -> None:
    require_not_purged(dossier)
    if dossier.state is DossierState.CLOSED:
        raise Refused(_l("The dossier is closed; reopen it first."))


def lock_rows(model: type[Dossier] | type[Person], where: ColumnElement[bool]) -> list[int]:
    """Lock the rows `where` until this transaction ends, and return their ids: what is
    decided next about them is decided alone, a retention run's batch and an officer's
    change one after the other. Lock order: dossiers, persons, then the audit head (the
    audit event comes last in every domain function).

    PostgreSQL: SELECT ... FOR UPDATE, in id order (two transactions locking several rows
    cannot deadlock on them); a row changed while it waited is read again, and left out
    if it no longer matches. SQLite has one writer at a time: a write that changes
    nothing makes this transaction that writer before it decides."""
    if db.engine.dialect.name == "sqlite":
        claimed = (
            update(model)
            .where(where)
            .values(version=model.version)
            .returning(model.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(db.session.scalars(claimed))
    return list(
        db.session.scalars(select(model.id).where(where).order_by(model.id).with_for_update())
    )


def check_person(
    dossier: Dossier,
    *,
    function: str,
    date_of_birth: dt.date | None,
    family_of: Person | None,
    person: Person | None = None,
) -> None:
    """What a person of a dossier must have: a function, unless they are protected as a
    family member of someone in it; a date of birth that has been."""
    require_open(dossier)
    if family_of is not None and (
        family_of not in dossier.persons
        or family_of is person
        or (person is not None and _family_of(dossier, family_of) == person.id)
    ):
        raise Refused(_l("Choose another person of this dossier."), "family_of_id")
    if not function.strip() and family_of is None:
        raise Refused(_l("Give the person's function (a family member needs none)."), "function")
    if date_of_birth is not None and date_of_birth > today():
        raise Refused(_l("A date of birth cannot be in the future."), "date_of_birth")


def _family_of(dossier: Dossier, person: Person) -> int | None:
    link = db.session.get(DossierPerson, (dossier.id, person.id))
    return link.family_of_id if link else None


def add_new_person(
    dossier: Dossier,
    *,
    name: str,
    function: str,
    actor: User,
    category: VipCategory | None = None,
    country: str | None = None,
    date_of_birth: dt.date | None = None,
    family_of: Person | None = None,
    relation: str = "",
) -> Person:
    check_person(dossier, function=function, date_of_birth=date_of_birth, family_of=family_of)
    person = Person(
        name=name.strip(),
        function=function.strip(),
        category=category,
        country=(country or "").strip() or None,
        date_of_birth=date_of_birth,
    )
    db.session.add(person)
    db.session.flush()
    audit.record(
        "person.create", actor=actor, object_type="person", object_id=person.id, dossier=dossier
    )
    _link(dossier, person, actor, family_of=family_of, relation=relation)
    return person


PERSON_SEARCH_CAP = 1000  # more matches than this: read by the database, not as a list


@dataclass(frozen=True)
class Found:
    """A person search's page: the first persons by name, whether there are more, and
    each one's latest dossier (to tell people of one name apart)."""

    persons: list[Person]
    more: bool
    last_dossier: dict[int, tuple[str, int]]


def find_persons(dossier: Dossier, text: str, actor: User, limit: int = 20) -> Found:
    """Persons already known whose name holds the text, to link to the dossier; the
    search is audited (a search for a name reads personal data)."""
    found = list(
        db.session.scalars(
            select(Person)
            .where(Person.id.in_(names.persons_named(text, PERSON_SEARCH_CAP)))
            .order_by(Person.name, Person.id)
            .limit(limit + 1)
        )
    )
    shown = found[:limit]
    latest: dict[int, tuple[str, int]] = {}
    rows = db.session.execute(
        select(DossierPerson.person_id, Dossier.reference, Dossier.opened_on)
        .join(Dossier, Dossier.id == DossierPerson.dossier_id)
        .where(DossierPerson.person_id.in_([p.id for p in shown]))
        .order_by(Dossier.opened_on, Dossier.id)
    )
    for person_id, reference, opened_on in rows:
        latest[person_id] = (reference, opened_on.year)  # the last one read is the latest
    record_search(shown, actor, dossier=dossier)
    return Found(shown, len(found) > limit, latest)


def record_search(
    shown: list[Person], actor: User, dossier: Dossier | None = None, event_id: int | None = None
) -> None:
    """Record a search for known persons by name, from a dossier or an event's delegation
    list, as a read of each person it showed (their access report lists it); one that
    showed nobody as one search."""
    where: dict[str, Any] = {} if event_id is None else {"event_id": event_id}
    person_ids: list[int | None] = [*sorted({p.id for p in shown})] or [None]
    for person_id in person_ids:
        audit.record(
            "person.search",
            actor=actor,
            object_type="person",
            object_id=person_id,
            dossier=dossier,
            results=len(shown),
            **where,
        )


def person_links(dossier: Dossier) -> dict[int, DossierPerson]:
    """How each person belongs to the dossier (family member of whom), by person id."""
    return {
        link.person_id: link
        for link in db.session.scalars(
            select(DossierPerson).where(DossierPerson.dossier_id == dossier.id)
        )
    }


def update_person(
    dossier: Dossier,
    person: Person,
    *,
    name: str,
    function: str,
    category: VipCategory | None,
    country: str | None,
    actor: User,
    date_of_birth: dt.date | None = None,
    family_of: Person | None = None,
    relation: str = "",
) -> None:
    """Correct a person's details (they are the same person in every dossier) and how
    they belong to this one."""
    check_person(
        dossier, function=function, date_of_birth=date_of_birth, family_of=family_of, person=person
    )
    person.name, person.function = name.strip(), function.strip()
    person.category, person.country = category, (country or "").strip() or None
    person.date_of_birth = date_of_birth
    link = db.session.get(DossierPerson, (dossier.id, person.id))
    if link is not None:
        link.family_of_id = family_of.id if family_of else None
        link.relation = relation.strip() if family_of else ""
    db.session.flush()
    audit.record(
        "person.update", actor=actor, object_type="person", object_id=person.id, dossier=dossier
    )


def link_person(dossier: Dossier, person: Person, actor: User) -> None:
    require_open(dossier)
    if person in dossier.persons:
        raise Refused(_l("This person is already in the dossier."))
    # Locked first: a retention run deciding about this person waits for the link, or
    # the link for the run, and then sees the person pseudonymised.
    kept = and_(Person.id == person.id, Person.pseudonymised_at.is_(None))
    if person.pseudonymised_at is not None or not lock_rows(Person, kept):
        raise Refused(
            _l(
                "This person's details were removed after their retention period: add them "
                "as a new person."
            )
        )
    _link(dossier, person, actor)


def _link(
    dossier: Dossier,
    person: Person,
    actor: User,
    *,
    family_of: Person | None = None,
    relation: str = "",
) -> None:
    db.session.add(
        DossierPerson(
            dossier_id=dossier.id,
            person_id=person.id,
            family_of_id=family_of.id if family_of else None,
            relation=relation.strip() if family_of else "",
        )
    )
    db.session.flush()
    db.session.expire(dossier, ["persons"])
    audit.record(
        "dossier.person_add",
        actor=actor,
        object_type="person",
        object_id=person.id,
        dossier=dossier,
    )


def remove_person(dossier: Dossier, person: Person | None, actor: User) -> None:
    require_open(dossier)
    if person is None:
        raise Refused(_l("This person is not in the dossier."))
    if any(m.person_id == person.id and not m.ended for m in dossier.measures):
        raise Refused(_l("Lift the measures for this person before removing them."))
    link = db.session.get(DossierPerson, (dossier.id, person.id))
    if link is None:
        raise Refused(_l("This person is not in the dossier."))
    db.session.delete(link)
    for relative in db.session.scalars(
        select(DossierPerson).where(
            DossierPerson.dossier_id == dossier.id, DossierPerson.family_of_id == person.id
        )
    ):
        relative.family_of_id, relative.relation = None, ""  # their main person has left
    db.session.flush()
    db.session.expire(dossier, ["persons"])
    audit.record(
        "dossier.person_remove",
        actor=actor,
        object_type="person",
        object_id=person.id,
        dossier=dossier,
    )


def check_assessment(
    dossier: Dossier,
    *,
    level: int,
    assessed_on: dt.date,
    review_on: dt.date | None,
    person: Person | None,
) -> None:
    """What an assessment must be, recorded or corrected."""
    require_open(dossier)
    if level not in (1, 2, 3, 4):
        raise Refused(_l("The threat level is 1, 2, 3 or 4."), "level")
    if assessed_on > today():
        raise Refused(_l("An assessment cannot be dated in the future."), "assessed_on")
    if review_on is not None and review_on < assessed_on:
        raise Refused(_l("The review date cannot be before the assessment date."), "review_on")
    if person is not None and person not in dossier.persons:
        raise Refused(_l("The person is not in this dossier."), "person_id")


def record_assessment(
    dossier: Dossier,
    *,
    source: AssessmentSource,
    level: int,
    assessed_on: dt.date,
    review_on: dt.date | None,
    summary: str,
    actor: User,
    person: Person | None = None,
) -> ThreatAssessment:
    check_assessment(
        dossier, level=level, assessed_on=assessed_on, review_on=review_on, person=person
    )
    assessment = ThreatAssessment(
        dossier=dossier,
        person=person,
        source=source,
        level=level,
        assessed_on=assessed_on,
        review_on=review_on,
        summary=summary.strip(),
        created_by_id=actor.id,
    )
    db.session.add(assessment)
    db.session.flush()
    db.session.expire(dossier, ["assessments"])
    audit.record(
        "assessment.create",
        actor=actor,
        object_type="assessment",
        object_id=assessment.id,
        dossier=dossier,
        level=level,
        source=source.value,
    )
    return assessment


def set_event(dossier: Dossier, event: Event, actor: User) -> None:
    require_open(dossier)
    if not dossier.is_vip:
        raise Refused(_l("Only VIP protection dossiers have an event."))
    if dossier.approval_date is not None:
        check_approval_date(dossier.approval_date, event)
    dossier.event = event
    audit.record(
        "dossier.event_set", actor=actor, object_type="event", object_id=event.id, dossier=dossier
    )


def hand_over(dossier: Dossier, to: User | None, actor: User) -> None:
    """Make another officer the dossier's lead officer."""
    require_open(dossier)
    if to is None or to.role is not Role.OFFICER or not to.active:
        raise Refused(_l("Choose an active crisis-centre officer."), "officer_id")
    if to.id == dossier.lead_officer_id:
        raise Refused(_l("%(name)s already leads this dossier.", name=to.full_name), "officer_id")
    before = dossier.lead_officer_id
    dossier.lead_officer = to
    audit.record(
        "dossier.hand_over",
        actor=actor,
        object_type="dossier",
        object_id=dossier.id,
        dossier=dossier,
        changes={"lead_officer": [before, to.id]},
    )


def add_note(dossier: Dossier, body: str, actor: User) -> DossierNote:
    """An officer's internal note: kept as typed (line breaks too), never edited."""
    require_not_purged(dossier)
    if not body.strip():
        raise Refused(_l("Write the note first."), "body")
    # A note is allowed on a closed dossier, which a retention run may be purging: the
    # dossier's row, locked, makes the note wait for the run's batch (and then refuses
    # it) or the batch wait for the note (and then clear it).
    if not lock_rows(Dossier, and_(Dossier.id == dossier.id, Dossier.purged_at.is_(None))):
        raise Refused(PURGED)
    note = DossierNote(dossier_id=dossier.id, author_id=actor.id, body=body.strip())
    db.session.add(note)
    db.session.flush()
    # The note's words stay out of the audit trail: the event names the note.
    audit.record(
        "note.create",
        actor=actor,
        object_type="note",
        object_id=note.id,
        dossier=dossier,
        note_id=note.id,
    )
    return note


def notes_by_id(dossier: Dossier) -> dict[int, DossierNote]:
    """The dossier's internal notes, for its timeline."""
    return {
        note.id: note
        for note in db.session.scalars(
            select(DossierNote).where(DossierNote.dossier_id == dossier.id)
        )
    }


def officers() -> list[User]:
    """The active officers a dossier can be handed to."""
    return list(
        db.session.scalars(
            select(User).where(User.role == Role.OFFICER, User.active).order_by(User.full_name)
        )
    )


def check_approval_date(on: dt.date, event: Event | None) -> None:
    """The Minister approves before the protection is needed, never after: not a day
    still to come, nor one after the event."""
    if on > today():
        raise Refused(_l("An approval cannot be dated in the future."), "approval_date")
    if event is not None and on > event.end_date:
        raise Refused(
            _l(
                "The approval cannot come after its event (it ended on %(day)s).",
                day=day(event.end_date),
            ),
            "approval_date",
        )


def record_approval(dossier: Dossier, *, on: dt.date, reference: str, actor: User) -> None:
    require_open(dossier)
    if not dossier.is_vip:
        raise Refused(_l("Only VIP protection measures need the Minister's approval."))
    check_approval_date(on, dossier.event)
    dossier.approval_date = on
    dossier.approval_reference = reference.strip()
    audit.record(
        "dossier.approval",
        actor=actor,
        object_type="dossier",
        object_id=dossier.id,
        dossier=dossier,
    )
