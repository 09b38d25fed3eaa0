"""Events (summits, councils, state visits): planning them, and what an event's page
shows: its delegations (the VIP dossiers of the event), their VIPs and measures, and
which VIPs are still without protection during the event."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, select
from sqlalchemy.orm import joinedload, selectinload

from . import audit, casework, measures, statistics, workflow
from .extensions import db
from .inputs import counter
from .keyset import Key
from .models import (
    Dossier,
    DossierKind,
    DossierPerson,
    Event,
    EventKind,
    Measure,
    Person,
    User,
)
from .refusals import Outcomes, Refused

# The past, newest first: a page is an index range however many years there are.
# The past, the latest ended first: read in the order of ix_event_end_date, the index
# that also finds the few events not yet over without reading the past.
PAST_ORDER = (Key(Event.end_date, descending=True), Key(Event.id, descending=True))
UPCOMING_LIMIT = 100


def save_event(
    event: Event | None,
    *,
    name: str,
    kind: EventKind,
    start_date: dt.date,
    end_date: dt.date,
    place: str,
    host: str,
    actor: User,
) -> Event:
    """Create an event (None) or change one; audited either way."""
    if end_date < start_date:
        raise Refused(_l("The event cannot end before it starts."))
    if event is not None:
        # The Minister approves before the protection is needed: an event moved earlier
        # must not leave an approval of one of its delegations after its end.
        late = list(
            db.session.scalars(
                select(Dossier.reference)
                .where(Dossier.event_id == event.id, Dossier.approval_date > end_date)
                .order_by(Dossier.reference)
                .limit(5)
            )
        )
        if late:
            raise Refused(
                _l(
                    "The Minister's approval of %(references)s is dated after this end: "
                    "correct the approval first.",
                    references=", ".join(late),
                ),
                "end_date",
            )
    action = "event.update"
    if event is None:
        event = Event()
        db.session.add(event)
        action = "event.create"
    event.name, event.kind, event.place = name.strip(), kind, place.strip()
    event.start_date, event.end_date, event.host = start_date, end_date, host.strip()
    db.session.flush()
    audit.record(action, actor=actor, object_type="event", object_id=event.id)
    return event


def known_event(event_id: int | None) -> Event:
    event = db.session.get(Event, event_id) if event_id is not None else None
    if event is None:
        raise Refused(_l("Choose an event."))
    return event


def events_around(year: int, limit: int = 300) -> list[Event]:
    """The events a VIP dossier of the year can be for: that year and the next and last."""
    return list(
        db.session.scalars(
            select(Event)
            .where(
                Event.start_date >= dt.date(year - 1, 1, 1),
                Event.start_date <= dt.date(year + 1, 12, 31),
            )
            .order_by(Event.start_date.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class EventFilter:
    kind: EventKind | None = None
    year: int | None = None

    def applied(self, query: Select) -> Select:
        if self.kind is not None:
            query = query.where(Event.kind == self.kind)
        if self.year is not None:
            query = query.where(
                Event.start_date.between(dt.date(self.year, 1, 1), dt.date(self.year, 12, 31))
            )
        return query


def upcoming(criteria: EventFilter, today: dt.date) -> list[Event]:
    """Events not yet over, the soonest first: the UPCOMING_LIMIT that end first, read in
    the order of ix_event_end_date whatever the planner knows of the table, then shown by
    their first day."""
    query = criteria.applied(select(Event).where(Event.end_date >= today))
    coming = db.session.scalars(query.order_by(Event.end_date, Event.id).limit(UPCOMING_LIMIT))
    return sorted(coming, key=lambda event: (event.start_date, event.id))


def past(criteria: EventFilter, today: dt.date) -> Select:
    """Events over before today, for a keyset page in PAST_ORDER."""
    return criteria.applied(select(Event).where(Event.end_date < today))


def in_month(year: int, month: int) -> list[Event]:
    """Events on at least one day of the month, by their first day."""
    first = dt.date(year, month, 1)
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.start_date <= last, Event.end_date >= first)
            .order_by(Event.start_date, Event.id)
        )
    )


@dataclass
class Vip:
    """A VIP of a delegation at the event, the measures that protect them (their own and
    the delegation's), and whether one is in force during the event."""

    person: Person
    delegation: Dossier
    measures: list[Measure] = field(default_factory=list)
    covered: bool = False
    arrival: dt.date | None = None  # from the delegation list, when it said
    departure: dt.date | None = None


@dataclass
class Overview:
    event: Event
    delegations: list[Dossier]
    vips: list[Vip]  # those without protection first

    @property
    def uncovered(self) -> list[Vip]:
        return [vip for vip in self.vips if not vip.covered]


def overview(event: Event) -> Overview:
    """The event's delegations, VIPs, measures and coverage in a fixed number of queries
    (five), whatever the event holds."""
    delegations = _delegations(
        event,
        selectinload(Dossier.persons),
        selectinload(Dossier.measures).options(
            joinedload(Measure.measure_type), joinedload(Measure.organisation)
        ),
    )
    covered = {(row[0], row[1]) for row in db.session.execute(protected_at(event))}
    days = {
        (link.dossier_id, link.person_id): (link.arrival_date, link.departure_date)
        for link in db.session.scalars(
            select(DossierPerson).where(DossierPerson.dossier_id.in_([d.id for d in delegations]))
        )
    }
    vips = [
        Vip(
            person=person,
            delegation=dossier,
            measures=[m for m in dossier.measures if m.person_id in (None, person.id)],
            covered=(dossier.id, person.id) in covered,
            arrival=days.get((dossier.id, person.id), (None, None))[0],
            departure=days.get((dossier.id, person.id), (None, None))[1],
        )
        for dossier in delegations
        for person in dossier.persons
    ]
    vips.sort(key=lambda vip: (vip.covered, vip.delegation.reference, vip.person.name))
    return Overview(event, delegations, vips)


def protected_at(event: Event) -> Select:
    """(dossier, person) pairs of the event's delegations protected during it: the
    counting rule's own condition (statistics.covered_at_event)."""
    return (
        select(DossierPerson.dossier_id, DossierPerson.person_id)
        .join(Dossier, Dossier.id == DossierPerson.dossier_id)
        .join(Event, and_(Event.id == Dossier.event_id, Event.id == event.id))
        .where(Dossier.kind == DossierKind.VIP_PROTECTION, statistics.covered_at_event())
    )


def months_around(year: int, month: int) -> Sequence[tuple[int, int]]:
    """The month before and after, for the month view's links."""
    before = (year - 1, 12) if month == 1 else (year, month - 1)
    after = (year + 1, 1) if month == 12 else (year, month + 1)
    return before, after


def _delegations(event: Event, *loads: Any) -> list[Dossier]:
    """The event's VIP dossiers by reference, with what the caller will read loaded."""
    return list(
        db.session.scalars(
            select(Dossier)
            .where(Dossier.event_id == event.id, Dossier.kind == DossierKind.VIP_PROTECTION)
            .options(*loads)
            .order_by(Dossier.reference)
        )
    )


def apply_standard_sets(event: Event, actor: User) -> Outcomes:
    """Each open delegation of the event gets its VIPs' standard measures (measures.
    apply_standard_sets); one that cannot take them says why."""
    outcomes = Outcomes()
    for dossier in _delegations(event):
        try:
            with db.session.begin_nested():  # a refusal leaves that delegation as it was
                added = measures.apply_standard_sets(dossier, actor)
        except Refused as refusal:
            outcomes.refused.append((dossier, str(refusal)))
        else:
            outcomes.done.append((dossier, len(added)))
    return outcomes


def record_event_approval(event: Event, *, on: dt.date, reference: str, actor: User) -> Outcomes:
    """The Minister's approval, once for the event: every open delegation without an
    approval of its own gets this one (each audited on its own dossier); a delegation
    that has its own keeps it, and a closed one is left as it is."""
    casework.check_approval_date(on, event)
    outcomes = Outcomes()
    for dossier in _delegations(event):
        if dossier.approval_date is not None:
            outcomes.refused.append((dossier, str(_l("It has an approval of its own."))))
            continue
        try:
            casework.record_approval(dossier, on=on, reference=reference, actor=actor)
        except Refused as refusal:
            outcomes.refused.append((dossier, str(refusal)))
        else:
            outcomes.done.append(dossier)
    if not outcomes.done:
        raise Refused(_l("No delegation of the event was waiting for an approval."))
    return outcomes


def transition_delegations(
    event: Event,
    name: str,
    chosen: dict[int, str],
    actor: User,
    reason: str = "",
) -> Outcomes:
    """Move the chosen delegations of the event (dossier id -> the version the page
    showed) through one transition: each checked by the workflow as if alone, audited
    on its own, refused on its own with its reason (a refusal changes nothing of it)."""
    outcomes = Outcomes()
    for dossier in _delegations(event):
        if dossier.id not in chosen:
            continue
        try:
            if counter(chosen[dossier.id]) != dossier.version:
                raise Refused(STALE)
            workflow.transition(dossier, name, actor, reason)
        except Refused as refusal:
            outcomes.refused.append((dossier, str(refusal)))
            audit.record(
                "dossier.transition_refused",
                actor=actor,
                object_type="dossier",
                object_id=dossier.id,
                dossier=dossier,
                outcome="refused",
                transition=name,
            )
        else:
            outcomes.done.append(dossier)
    return outcomes


STALE = _l("It changed since the page was shown: look at it again.")
