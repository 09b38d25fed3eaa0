"""What officers and partners do to a dossier, apart from moving it (workflow.py).

Each function checks the domain rule, writes, and records the audit event in the
caller's transaction; the caller commits once.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from . import audit, names
from .clock import today
from .extensions import db
from .models import (
    AssessmentSource,
    Dossier,
    DossierKind,
    DossierPerson,
    DossierState,
    Event,
    Person,
    ReferenceCounter,
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


def _require_open(dossier: Dossier) -> None:
    if dossier.state is DossierState.CLOSED:
        raise Refused(_l("The dossier is closed; reopen it first."))


def add_new_person(
    dossier: Dossier,
    *,
    name: str,
    function: str,
    actor: User,
    category: VipCategory | None = None,
    country: str | None = None,
) -> Person:
    _require_open(dossier)
    person = Person(
        name=name.strip(),
        function=function.strip(),
        category=category,
        country=(country or "").strip() or None,
    )
    db.session.add(person)
    db.session.flush()
    audit.record(
        "person.create", actor=actor, object_type="person", object_id=person.id, dossier=dossier
    )
    _link(dossier, person, actor)
    return person


PERSON_SEARCH_CAP = 1000  # more matches than this: read by the database, not as a list


def find_persons(dossier: Dossier, text: str, actor: User, limit: int = 20) -> list[Person]:
    """Persons already known whose name holds the text, to link to the dossier; the
    search is audited (a search for a name reads personal data)."""
    found = list(
        db.session.scalars(
            select(Person)
            .where(Person.id.in_(names.persons_named(text, PERSON_SEARCH_CAP)))
            .order_by(Person.name)
            .limit(limit)
        )
    )
    audit.record(
        "person.search",
        actor=actor,
        object_type="person",
        object_id=None,
        dossier=dossier,
        results=len(found),
    )
    return found


def update_person(
    dossier: Dossier,
    person: Person,
    *,
    name: str,
    function: str,
    category: VipCategory | None,
    country: str | None,
    actor: User,
) -> None:
    """Correct a person's details (they are the same person in every dossier)."""
    _require_open(dossier)
    person.name, person.function = name.strip(), function.strip()
    person.category, person.country = category, (country or "").strip() or None
    db.session.flush()
    audit.record(
        "person.update", actor=actor, object_type="person", object_id=person.id, dossier=dossier
    )


def link_person(dossier: Dossier, person: Person, actor: User) -> None:
    _require_open(dossier)
    if person in dossier.persons:
        raise Refused(_l("This person is already in the dossier."))
    _link(dossier, person, actor)


def _link(dossier: Dossier, person: Person, actor: User) -> None:
    db.session.add(DossierPerson(dossier_id=dossier.id, person_id=person.id))
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
    _require_open(dossier)
    if person is None:
        raise Refused(_l("This person is not in the dossier."))
    if any(m.person_id == person.id and not m.lifted for m in dossier.measures):
        raise Refused(_l("Lift the measures for this person before removing them."))
    link = db.session.get(DossierPerson, (dossier.id, person.id))
    if link is None:
        raise Refused(_l("This person is not in the dossier."))
    db.session.delete(link)
    db.session.flush()
    db.session.expire(dossier, ["persons"])
    audit.record(
        "dossier.person_remove",
        actor=actor,
        object_type="person",
        object_id=person.id,
        dossier=dossier,
    )


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
    _require_open(dossier)
    if level not in (1, 2, 3, 4):
        raise Refused(_l("The threat level is 1, 2, 3 or 4."))
    if assessed_on > today():
        raise Refused(_l("An assessment cannot be dated in the future."), "assessed_on")
    if review_on is not None and review_on < assessed_on:
        raise Refused(_l("The review date cannot be before the assessment date."), "review_on")
    if person is not None and person not in dossier.persons:
        raise Refused(_l("The person is not in this dossier."))
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
    _require_open(dossier)
    if not dossier.is_vip:
        raise Refused(_l("Only VIP protection dossiers have an event."))
    dossier.event = event
    audit.record(
        "dossier.event_set", actor=actor, object_type="event", object_id=event.id, dossier=dossier
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
                day=event.end_date.strftime("%d/%m/%Y"),
            ),
            "approval_date",
        )


def record_approval(dossier: Dossier, *, on: dt.date, reference: str, actor: User) -> None:
    _require_open(dossier)
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
