"""A large, realistic data set for measuring: F times the demo's yearly volume over N
years, written with bulk inserts (one statement per table and year).

Persons are shared between dossiers over the years; VIPs attend many events, each in
their country's delegation with the demo's standard measures; one summit ahead holds
300 VIPs with 600 measures for `make bench` to open. Measures, assessments, transitions
and audit events come with every dossier, and the audit chain is as valid as one
written by the app (`flask audit verify` passes).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, text, update

from dossiers import clock, names
from dossiers.audit import GENESIS, digest
from dossiers.demo import FIRST_NAMES, LAST_NAMES, LOCAL_ZONES, STANDARD_SETS
from dossiers.extensions import db
from dossiers.models import (
    AuditEvent,
    AuditHead,
    Dossier,
    DossierKind,
    DossierPerson,
    DossierState,
    Event,
    EventKind,
    Measure,
    MeasureStatus,
    MeasureType,
    Organisation,
    Person,
    PersonNameSuffix,
    ReferenceCounter,
    Role,
    StandardMeasure,
    ThreatAssessment,
    Transition,
    User,
    VipCategory,
    refresh_review_dates,
)

TP_PER_YEAR = 80  # the demo's threatened-person dossiers a year, with and without measures
EVENTS_PER_YEAR = 40
COUNTRIES = 60
BENCH_SUMMIT = "Benchmark summit"
KINDS = (
    [EventKind.EU_MINISTERIAL_COUNCIL] * 6
    + [EventKind.NATO_MINISTERIAL] * 2
    + [EventKind.EUROPEAN_SUMMIT]
)


class NotEmpty(Exception):
    pass


class _Chain:
    """Appends audit events in bulk with the same HMAC links as audit.record."""

    def __init__(self) -> None:
        head = db.session.get(AuditHead, 1)
        self.sequence = head.last_sequence if head else 0
        self.previous = head.last_hash if head else GENESIS
        self.key = current_app.config["AUDIT_KEY"].encode()
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        action: str,
        at: dt.datetime,
        actor: int,
        dossier: int | None,
        object_type: str,
        object_id: int | None,
        **detail: Any,
    ) -> None:
        self.sequence += 1
        row = {
            "sequence": self.sequence,
            "at": at,
            "actor_id": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "dossier_id": dossier,
            "remote_addr": None,
            "outcome": "ok",
            "detail": json.dumps(detail, sort_keys=True),
            "prev_hash": self.previous,
        }
        row["hash"] = self.previous = digest(row, self.key)
        self.rows.append(row)

    def flush(self) -> None:
        if self.rows:
            db.session.execute(insert(AuditEvent), self.rows)
            self.rows = []
        values = {
            "last_sequence": self.sequence,
            "last_hash": self.previous,
            "data_version": self.sequence,  # cached figures are stale now
        }
        moved = db.session.execute(update(AuditHead).where(AuditHead.id == 1).values(**values))
        if moved.rowcount == 0:  # type: ignore[attr-defined]
            db.session.add(AuditHead(id=1, **values))


def _ids(model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in one statement and return their ids, in order."""
    if not rows:
        return []
    result = db.session.execute(
        insert(model).returning(model.id, sort_by_parameter_order=True), rows
    )
    return [row[0] for row in result]


def _persons(rows: list[dict[str, Any]]) -> list[int]:
    """Insert persons with the endings of their names (the ORM's listeners that keep the
    name index do not see a bulk insert)."""
    ids = _ids(Person, rows)
    endings = names.suffix_rows(zip(ids, (row["name"] for row in rows), strict=True))
    if endings:
        db.session.execute(insert(PersonNameSuffix), endings)
    return ids


def _name(rng: random.Random) -> str:
    """A Belgian-sounding name, varied as real names are: a search by one finds a few
    persons, not every person of a year (as "Person 2024-17" would, trigram by trigram)."""
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    if rng.random() < 0.6:
        last = f"{last}-{rng.choice(LAST_NAMES)}"
    return f"{first} {rng.choice(FIRST_NAMES)[0]}. {last}"


def seed_scale(
    factor: float, years: int, last_year: int, progress: Callable[[int], None] = lambda n: None
) -> dict[str, int]:
    """Write the data set year by year; return how many dossiers and events it made."""
    if db.session.scalar(select(func.count()).select_from(Dossier)):
        raise NotEmpty
    _reference_data()
    officer = db.session.scalar(select(User.id).where(User.role == Role.OFFICER).limit(1))
    partners = list(
        db.session.scalars(select(Organisation.id).where(Organisation.kind != "crisis_centre"))
    )
    types = {t.code: t.id for t in db.session.scalars(select(MeasureType))}
    orgs = {o.name: o.id for o in db.session.scalars(select(Organisation))}
    rng = random.Random(20240101)  # nosec B311
    chain = _Chain()
    # Each country's VIPs: a tenth heads of state, a tenth heads of government, the
    # others ministers and delegation members; at F=1 ten per country.
    categories = [VipCategory.HEAD_OF_STATE, VipCategory.HEAD_OF_GOVERNMENT]
    categories += [VipCategory.MINISTER] * 4 + [VipCategory.OTHER] * 4
    people = [
        {
            "name": _name(rng),
            "function": "Delegate",
            "category": categories[n // COUNTRIES % len(categories)],
            "country": f"Country {n % COUNTRIES}",
            "version": 1,
            "created_at": dt.datetime(last_year, 1, 1),
        }
        for n in range(max(COUNTRIES * 10, int(600 * factor**0.5)))
    ]
    vips: dict[str, list[tuple[int, VipCategory]]] = {}
    for person_id, person in zip(_persons(people), people, strict=True):
        vips.setdefault(person["country"], []).append((person_id, person["category"]))
    known: list[int] = []
    made = {"dossiers": 0, "events": 0}
    for year in range(last_year - years + 1, last_year + 1):
        made["dossiers"] += _threatened(
            year, int(TP_PER_YEAR * factor), rng, officer, partners, types, known, chain
        )
        made["events"] += _vip(
            year, int(EVENTS_PER_YEAR * factor), rng, officer, types, orgs, vips, chain
        )
        chain.flush()
        db.session.commit()
        progress(1)
    today = clock.today()
    if last_year == today.year - 1:
        # This year so far, so that the newest dossiers are still at intake or in
        # assessment, as they would be: the dashboard is measured with work in it.
        elapsed = (today - dt.date(today.year, 1, 1)).days
        made["dossiers"] += _threatened(
            today.year,
            int(TP_PER_YEAR * factor * elapsed / 365),
            rng,
            officer,
            partners,
            types,
            known,
            chain,
            days_in_year=max(elapsed, 1),
        )
        chain.flush()
        db.session.commit()
    _bench_summit(rng, officer, types, orgs, vips, chain)
    made["events"] += 1
    chain.flush()
    db.session.commit()
    refresh_review_dates(db.session.connection())  # bulk inserts pass by the listeners
    db.session.commit()
    _refresh_planner_statistics()
    return made


def _refresh_planner_statistics() -> None:
    """A bulk load outruns autovacuum: without fresh statistics PostgreSQL guesses that a
    search matches half the dossiers and walks the whole list instead of the index. The
    VACUUM leaves the tables as a database in service has them (pages marked all-visible,
    so a count reads its index alone), rather than to an autovacuum that would then
    spend minutes on the millions of new rows while the data set is in use."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.execute(text("VACUUM (ANALYZE)"))
        else:
            connection.execute(text("PRAGMA optimize"))
            connection.commit()


def _reference_data() -> None:
    """The demo's organisations and measure types, and an officer to sign the records."""
    from dossiers.demo import ORGANISATIONS
    from dossiers.reference import standard_measure_types

    if not db.session.scalar(select(func.count()).select_from(Organisation)):
        db.session.add_all(Organisation(name=name, kind=kind) for name, kind in ORGANISATIONS)
    present = set(db.session.scalars(select(MeasureType.code)))
    db.session.add_all(t for t in standard_measure_types() if t.code not in present)
    db.session.flush()
    if not db.session.scalar(select(func.count()).select_from(StandardMeasure)):
        types = {t.code: t for t in db.session.scalars(select(MeasureType))}
        orgs = {o.name: o for o in db.session.scalars(select(Organisation))}
        db.session.add_all(
            StandardMeasure(category=category, measure_type=types[code], organisation=orgs[org])
            for category, code, org in STANDARD_SETS
        )
    if not db.session.scalar(select(User.id).where(User.role == Role.OFFICER)):
        import secrets

        from dossiers.auth import hash_password

        db.session.add(
            User(
                email="scale.officer@bench.example",
                full_name="Scale Officer",
                role=Role.OFFICER,
                password_hash=hash_password(secrets.token_urlsafe(24)),
            )
        )
    db.session.flush()


def _counter(kind: DossierKind, year: int, last: int) -> None:
    db.session.merge(ReferenceCounter(kind=kind, year=year, last_sequence=last))


def _state_on(day: dt.date, opened: dt.date, ends: dt.date) -> DossierState:
    if ends <= day:
        return DossierState.CLOSED
    age = (day - opened).days
    if age < 7:
        return DossierState.INTAKE
    if age < 21:
        return DossierState.ASSESSMENT
    return DossierState.MEASURES_DECIDED


LIVE = [MeasureStatus.REQUESTED, MeasureStatus.ACKNOWLEDGED, MeasureStatus.IN_EXECUTION]


def _threatened(year, count, rng, officer, partners, types, known, chain, days_in_year=365) -> int:
    days = sorted(rng.randrange(days_in_year) for _ in range(count))
    rows = []
    for n, day in enumerate(days, start=1):
        opened = dt.date(year, 1, 1) + dt.timedelta(days=day)
        ends = opened + dt.timedelta(days=rng.randrange(60, 400))
        # A dossier whose threat outlasts today is still open: at intake in its first
        # week, in assessment until its third, then with measures decided.
        state = _state_on(clock.today(), opened, ends)
        closed = ends if state is DossierState.CLOSED else None
        rows.append(
            {
                "reference": f"TP-{year}-{n:04d}",
                "kind": DossierKind.THREATENED_PERSON,
                "year": year,
                "sequence": n,
                "title": "Threatened in their function",
                "opened_on": opened,
                "state": state,
                "ground": rng.choice(["function", "profession", "social_role"]),
                "lead_officer_id": officer,
                "closed_on": closed,
                "closure_reason": "Threat over" if closed else None,
                "version": 1,
                "created_at": dt.datetime.combine(opened, dt.time(9)),
            }
        )
    ids = _ids(Dossier, rows)
    _counter(DossierKind.THREATENED_PERSON, year, count)
    persons = _persons(
        [
            {
                "name": _name(rng),
                "function": "Mayor",
                "version": 1,
                "created_at": dt.datetime(year, 1, 1),
            }
            for n in range(int(count * 1.3))
        ],
    )
    links, measures, assessments, transitions = [], [], [], []
    for index, (dossier_id, row) in enumerate(zip(ids, rows, strict=True)):
        members = {persons[index]}
        if rng.random() < 0.3 and index + count < len(persons):
            members.add(persons[index + count])
        if known and rng.random() < 0.1:
            members.add(rng.choice(known))  # threatened again, years later: the same person
        links += [
            {"dossier_id": dossier_id, "person_id": p, "added_at": row["created_at"]}
            for p in members
        ]
        at = row["created_at"]
        decided = at + dt.timedelta(days=5)
        state = row["state"]
        chain.add(
            "dossier.create",
            at,
            officer,
            dossier_id,
            "dossier",
            dossier_id,
            kind="threatened_person",
        )
        steps = [("start_assessment", "intake", "assessment", at + dt.timedelta(days=1))]
        if state is not DossierState.INTAKE:
            assessments.append(
                {
                    "dossier_id": dossier_id,
                    "source": "ocam",
                    "level": rng.choice([1, 2, 2, 3, 4]),
                    "assessed_on": at.date(),
                    "review_on": at.date() + dt.timedelta(days=180),
                    "summary": "Assessment",
                    "created_at": at,
                    "created_by_id": officer,
                }
            )
        if state in (DossierState.MEASURES_DECIDED, DossierState.CLOSED):
            steps.append(("decide_measures", "assessment", "measures_decided", decided))
            measures.append(
                {
                    "dossier_id": dossier_id,
                    "measure_type_id": types["contact_point"],
                    "description": "Contact person",
                    "organisation_id": rng.choice(partners),
                    "start_date": decided.date(),
                    "end_date": row["closed_on"],
                    "status": MeasureStatus.LIFTED if row["closed_on"] else rng.choice(LIVE),
                    "execution_note": "",
                    "decided_at": decided,
                    "created_at": at,
                    "updated_at": at,
                    "version": 1,
                }
            )
            chain.add(
                "dossier.transition",
                decided,
                officer,
                dossier_id,
                "dossier",
                dossier_id,
                transition="decide_measures",
            )
        if row["closed_on"]:
            closing = dt.datetime.combine(row["closed_on"], dt.time(9))
            steps.append(("close", "measures_decided", "closed", closing))
        if state is DossierState.INTAKE:
            steps = []
        transitions += [
            {
                "dossier_id": dossier_id,
                "name": name,
                "from_state": source,
                "to_state": target,
                "actor_id": officer,
                "at": when,
                "reason": "",
            }
            for name, source, target, when in steps
        ]
    known.extend(persons[: len(persons) // 10])
    for model, batch in (
        (DossierPerson, links),
        (Measure, measures),
        (ThreatAssessment, assessments),
        (Transition, transitions),
    ):
        db.session.execute(insert(model), batch)
    return count


def _vip(year, count, rng, officer, types, orgs, vips, chain) -> int:
    """The year's events, each with a delegation dossier per country (two to ten
    countries, two to six of each country's VIPs), as an officer plans them: a perimeter
    around each delegation's hotel and every VIP's standard measures (sets of the demo)."""
    events = []
    for n in range(count):
        start = dt.date(year, 1, 5) + dt.timedelta(days=rng.randrange(350))
        events.append(
            {
                "name": f"Meeting {year}-{n}",
                "kind": rng.choice(KINDS),
                "start_date": start,
                "end_date": start + dt.timedelta(days=1),
                "place": "Brussels",
                "host": "Council of the EU",
            }
        )
    event_ids = _ids(Event, events)
    plans = [
        (event_id, event, country, rng.sample(vips[country], rng.randint(2, 6)))
        for event_id, event in zip(event_ids, events, strict=True)
        for country in rng.sample(sorted(vips), rng.randint(2, 10))
    ]
    _delegations(year, plans, officer, types, orgs, chain, live=False)
    return count


def _bench_summit(rng, officer, types, orgs, vips, chain) -> None:
    """The summit `make bench` opens: three weeks ahead, 30 delegations of 10 VIPs, each
    VIP with close protection and an escort by the federal police (600 measures)
    decided and waiting for the partner: the same summit at every factor."""
    start = clock.today() + dt.timedelta(days=21)
    summit = {
        "name": BENCH_SUMMIT,
        "kind": EventKind.EUROPEAN_SUMMIT,
        "start_date": start,
        "end_date": start + dt.timedelta(days=1),
        "place": "Brussels – Europa building",
        "host": "European Council",
    }
    (summit_id,) = _ids(Event, [summit])
    plans = [(summit_id, summit, country, vips[country][:10]) for country in sorted(vips)[:30]]
    _delegations(start.year, plans, officer, types, orgs, chain, live=True, every_vip=True)


def _delegations(year, plans, officer, types, orgs, chain, *, live, every_vip=False) -> None:
    """One VIP dossier per (event, country, persons): closed after a past event, or with
    its measures decided and waiting for the partners before a coming one."""
    counter = db.session.get(ReferenceCounter, (DossierKind.VIP_PROTECTION, year))
    base = max(1000, counter.last_sequence if counter else 0)  # clear of the app's numbering
    rows = []
    for n, (event_id, event, country, _) in enumerate(plans, start=base + 1):
        # A coming event's delegations were opened days ago, never in the future.
        opened = event["start_date"] - dt.timedelta(days=20)
        if live:
            opened = min(opened, clock.today() - dt.timedelta(days=9))
        created = dt.datetime.combine(opened, dt.time(8))
        rows.append(
            {
                "reference": f"VIP-{year}-{n:04d}",
                "kind": DossierKind.VIP_PROTECTION,
                "year": year,
                "sequence": n,
                "title": f"{event['name']} – {country}",
                "opened_on": created.date(),
                "state": DossierState.MEASURES_DECIDED if live else DossierState.CLOSED,
                "ground": None,
                "lead_officer_id": officer,
                "event_id": event_id,
                "approval_date": created.date() + dt.timedelta(days=5),
                "approval_reference": "BiZa",
                "closed_on": None if live else event["end_date"],
                "closure_reason": None if live else "Event over",
                "version": 1,
                "created_at": created,
            }
        )
    ids = _ids(Dossier, rows)
    _counter(DossierKind.VIP_PROTECTION, year, base + len(plans))
    links, measures = [], []
    status = MeasureStatus.REQUESTED if live else MeasureStatus.LIFTED
    for dossier_id, row, (_, event, _, persons) in zip(ids, rows, plans, strict=True):
        at = row["created_at"]
        decided = at + dt.timedelta(days=6)  # after the approval, before any event day

        def measure(code, org, person, dossier_id=dossier_id, decided=decided, at=at, event=event):
            return {
                "dossier_id": dossier_id,
                "measure_type_id": types[code],
                "description": "Standard measure for the event",
                "organisation_id": orgs[org],
                "person_id": person,
                "start_date": event["start_date"],
                "end_date": event["end_date"],
                "status": status,
                "execution_note": "",
                "decided_at": decided,
                "created_at": at,
                "updated_at": at,
                "version": 1,
            }

        links += [{"dossier_id": dossier_id, "person_id": p, "added_at": at} for p, _ in persons]
        if every_vip:
            measures += [
                measure(code, "Federal Police DAP", person)
                for person, _ in persons
                for code in ("close_protection", "escort")
            ]
        else:
            measures.append(measure("perimeter", LOCAL_ZONES[0], None))
            measures += [
                measure(code, org, person)
                for person, category in persons
                for set_category, code, org in STANDARD_SETS
                if set_category == category
            ]
        chain.add(
            "dossier.create", at, officer, dossier_id, "dossier", dossier_id, kind="vip_protection"
        )
        chain.add(
            "dossier.transition",
            decided,
            officer,
            dossier_id,
            "dossier",
            dossier_id,
            transition="decide_measures",
        )
    db.session.execute(insert(DossierPerson), links)
    db.session.execute(insert(Measure), measures)
