"""Who read or changed a dossier or a person, and when: the administrator's report from
the audit trail, for an internal control or a request of the data protection officer.

It shows what the audit page already shows (accounts, dossier references, actions,
object ids), never a dossier's contents nor a person's name: administrators do not read
dossier contents. A person is named by their number, as the pseudonym of a purged person
is ("Person 123"), so a purged person's report reads like anyone else's.

What it lists, newest first:
- a dossier: every event of the dossier (each read of it shows its persons);
- a person: every event on the person, and every event of each dossier they are or were
  in, over that dossier's whole life (the additions and removals are among them);
- for both: every read of the overview of an event such a dossier is or was at (an
  officer's lists every delegation, a partner's its own measures there).
Making the report is itself a read in the trail (`audit.access_report`, with the
dossier's or the person's id).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, or_, select, union

from . import audit, purge
from .clock import local
from .extensions import db
from .inputs import identifier
from .keyset import Key
from .labels import label
from .models import AuditEvent, Dossier, Organisation, Person, User
from .personal_data import PERSON_EVENTS, dossiers_naming, named_by
from .refusals import Refused

# Reads of an event's overview, which list its delegations' persons by name.
EVENT_READS = ("event.view", "measure.view")

# The events on the person: their dossiers' history of them and the reports on them, and
# each search that showed them (casework.record_search).
ON_THE_PERSON = (*PERSON_EVENTS, "person.search")

NEWEST_FIRST = (Key(AuditEvent.at, descending=True), Key(AuditEvent.sequence, descending=True))


@dataclass(frozen=True)
class Subject:
    """One dossier or one person, with the dossiers and events whose events the report
    lists."""

    dossier: Dossier | None
    person_id: int | None
    dossier_ids: tuple[int, ...]
    event_ids: tuple[int, ...]

    @property
    def kind(self) -> str:
        return "dossier" if self.dossier is not None else "person"

    @property
    def object_id(self) -> int:
        return self.dossier.id if self.dossier is not None else self.person_id or 0

    @property
    def title(self) -> str:
        """The reference, or the person's number as the pseudonym spells it."""
        if self.dossier is not None:
            return self.dossier.reference
        return purge.pseudonym(self.object_id)


def find(reference: str, person: str) -> Subject:
    """The dossier with this reference, or the person with this number."""
    if reference:
        dossier = db.session.scalar(select(Dossier).where(Dossier.reference == reference))
        if dossier is None:
            raise Refused(_l("No dossier has this reference."), "reference")
        return Subject(dossier, None, (dossier.id,), _events_of([dossier.id]))
    person_id = identifier(person)
    known = select(Person.id).where(Person.id == person_id)
    if person_id is None or db.session.scalar(known) is None:
        raise Refused(_l("No person has this number."), "person")
    dossier_ids = _dossiers_of(person_id)
    return Subject(None, person_id, dossier_ids, _events_of(list(dossier_ids)))


def opened(reference: str, person: str, actor: User, shown: str) -> Subject:
    """Find the report's subject and record the report as a read, in the caller's
    transaction; `shown` says how ("page" or "csv")."""
    subject = find(reference, person)
    audit.record(
        "audit.access_report",
        actor=actor,
        object_type=subject.kind,
        object_id=subject.object_id,
        dossier=subject.dossier,
        shown=shown,
    )
    return subject


def _dossiers_of(person_id: int) -> tuple[int, ...]:
    """Every dossier that names the person, or once did."""
    return tuple(sorted(db.session.scalars(dossiers_naming(person_id))))


def _events_of(dossier_ids: list[int]) -> tuple[int, ...]:
    """The events these dossiers are at, or once were."""
    if not dossier_ids:
        return ()
    found = union(
        select(Dossier.event_id).where(Dossier.id.in_(dossier_ids), Dossier.event_id.is_not(None)),
        select(AuditEvent.object_id).where(
            AuditEvent.dossier_id.in_(dossier_ids),
            AuditEvent.action == "dossier.event_set",
            AuditEvent.object_id.is_not(None),
        ),
    )
    return tuple(sorted(db.session.scalars(found)))


def persons(subject: Subject) -> list[int]:
    """A dossier's persons, now or before, by number: to choose one's report."""
    if subject.dossier is None:
        return []
    named = db.session.scalars(named_by([subject.dossier.id]))
    return sorted(person_id for person_id in named if person_id is not None)


def references(subject: Subject) -> list[str]:
    """A person's dossiers, now or before, by reference."""
    if not subject.dossier_ids or subject.dossier is not None:
        return []
    return list(
        db.session.scalars(
            select(Dossier.reference)
            .where(Dossier.id.in_(subject.dossier_ids))
            .order_by(Dossier.reference)
        )
    )


def _of(subject: Subject) -> ColumnElement[bool]:
    """The subject's events. Each alternative is on an index (the dossier's, the
    action's), so that the trail is not read whole for one report."""
    which: list[ColumnElement[bool]] = [AuditEvent.dossier_id.in_(subject.dossier_ids)]
    if subject.person_id is not None:
        which.append(
            and_(
                AuditEvent.action.in_(ON_THE_PERSON),
                AuditEvent.object_type == "person",
                AuditEvent.object_id == subject.person_id,
            )
        )
    if subject.event_ids:
        which.append(
            and_(
                AuditEvent.action.in_(EVENT_READS),
                AuditEvent.object_type == "event",
                AuditEvent.object_id.in_(subject.event_ids),
            )
        )
    return or_(*which)


def rows(subject: Subject) -> Select:
    """The subject's events as plain rows: when, what, on which object, by which account
    (name, address, role, organisation), in which dossier."""
    return (
        select(
            AuditEvent.at,
            AuditEvent.action,
            AuditEvent.object_type,
            AuditEvent.object_id,
            AuditEvent.outcome,
            User.full_name,
            User.email,
            User.role,
            Organisation.name.label("organisation"),
            Dossier.reference,
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .outerjoin(Dossier, Dossier.id == AuditEvent.dossier_id)
        .where(_of(subject))
    )


def counted(subject: Subject) -> Select:
    """The same events, without the joins that only name them."""
    return select(AuditEvent.id).where(_of(subject))


CSV_HEADER = [
    "at_brussels",
    "account",
    "email",
    "role",
    "organisation",
    "action",
    "what",
    "object_type",
    "object_id",
    "dossier",
    "outcome",
]


def csv_rows(subject: Subject, batch: int = 1000) -> Iterator[list[Any]]:
    """Yield the report as CSV rows, newest first, a batch at a time from the database."""
    yield CSV_HEADER
    order = [k.expression.desc() for k in NEWEST_FIRST]
    result = db.session.execute(rows(subject).order_by(*order).execution_options(yield_per=batch))
    try:
        for row in result:
            yield [
                local(row.at).isoformat(timespec="seconds"),
                row.full_name or "",
                row.email or "",
                row.role.value if row.role else "",
                row.organisation or "",
                row.action,
                label(row.action),
                row.object_type,
                row.object_id or "",
                row.reference or "",
                row.outcome,
            ]
    finally:
        result.close()
