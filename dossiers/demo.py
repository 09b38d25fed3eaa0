"""The deterministic demo data set: 2022–2024, reproducing the published figures.

Its random.Random generators are seeded on purpose (bandit B311 marked): the data is
made up and must come out the same every time; nothing in it is a secret.

Same seed, same data: the only randomness is a seeded random.Random per year. Two
exceptions: the account passwords are drawn fresh and printed once, and the one summit
in preparation is placed three weeks after the day of seeding.

Each step of a dossier's history is recorded on its own day (clock.as_of), its audit
events included, so that a timeline reads as the history it shows; nothing is dated
after the seeding. The accounts, the organisations and the standard sets are of the day
of seeding.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import select

from . import casework, clock, events, measures, names, workflow
from .accounts import create_user, issue_enrolment_code
from .auth import must_enrol
from .extensions import db
from .models import (
    AssessmentSource,
    Dossier,
    DossierKind,
    DossierPerson,
    Event,
    EventKind,
    Measure,
    MeasureStatus,
    MeasureType,
    Organisation,
    OrganisationKind,
    Person,
    Role,
    ThreatGround,
    User,
    VipCategory,
)
from .reference import standard_measure_types

ORGANISATIONS = [
    ("NCCN", OrganisationKind.CRISIS_CENTRE),
    ("Federal Police DAP", OrganisationKind.FEDERAL_POLICE),
    ("Police zone Brussels-Capital-Ixelles", OrganisationKind.LOCAL_POLICE),
    ("Police zone Antwerpen", OrganisationKind.LOCAL_POLICE),
    ("Police zone Gent", OrganisationKind.LOCAL_POLICE),
    ("Police zone Liège", OrganisationKind.LOCAL_POLICE),
    ("Police zone Charleroi", OrganisationKind.LOCAL_POLICE),
]
# The officers' standard measure sets: heads of state and government get close
# protection and escorts from the federal police, ministers an escort from the zone;
# every delegation also has a perimeter around its hotel, which covers the others.
STANDARD_SETS = [
    (VipCategory.HEAD_OF_STATE, "close_protection", "Federal Police DAP"),
    (VipCategory.HEAD_OF_STATE, "escort", "Federal Police DAP"),
    (VipCategory.HEAD_OF_GOVERNMENT, "close_protection", "Federal Police DAP"),
    (VipCategory.HEAD_OF_GOVERNMENT, "escort", "Federal Police DAP"),
    (VipCategory.MINISTER, "escort", "Police zone Brussels-Capital-Ixelles"),
]
SET_CATEGORIES = {category for category, _, _ in STANDARD_SETS}
FRENCH_SPEAKING = {"Police zone Liège", "Police zone Charleroi"}
LOCAL_ZONES = [name for name, kind in ORGANISATIONS if kind is OrganisationKind.LOCAL_POLICE]

ACCOUNTS = [
    ("officer@demo.example", "Olivia Officer", Role.OFFICER, "NCCN"),
    (
        "partner@demo.example",
        "Pieter Partner",
        Role.PARTNER,
        "Police zone Brussels-Capital-Ixelles",
    ),
    ("dap@demo.example", "Dana DAP", Role.PARTNER, "Federal Police DAP"),
    ("analyst@demo.example", "Anna Analyst", Role.ANALYST, "NCCN"),
    ("admin@demo.example", "Adam Admin", Role.ADMIN, None),
]


@dataclass(frozen=True)
class YearPlan:
    tp_dossiers: int  # threatened-person dossiers with decided measures
    tp_persons: int
    tp_without_measures: int
    events: tuple[tuple[EventKind, int, int, int], ...]  # kind, count, heads, others


# Heads of state or government are spread over the summits, ministers and delegation
# members over every event; the totals are the published ones.
PLANS = {
    2022: YearPlan(
        64,
        85,
        5,
        (
            (EventKind.EUROPEAN_SUMMIT, 6, 240, 1020),
            (EventKind.NATO_SUMMIT, 1, 65, 225),
        ),
    ),
    2023: YearPlan(
        75,
        124,
        6,
        (
            (EventKind.EU_MINISTERIAL_COUNCIL, 20, 0, 620),
            (EventKind.NATO_MINISTERIAL, 7, 0, 196),
            (EventKind.EUROPEAN_SUMMIT, 6, 301, 395),
        ),
    ),
    2024: YearPlan(
        67,
        101,
        7,
        (
            (EventKind.EU_MINISTERIAL_COUNCIL, 60, 0, 960),
            (EventKind.NATO_MINISTERIAL, 15, 0, 240),
            (EventKind.EUROPEAN_SUMMIT, 7, 322, 302),
        ),
    ),
}

FIRST_NAMES = [
    "An",
    "Bart",
    "Chloé",
    "David",
    "Elke",
    "Farid",
    "Griet",
    "Hugo",
    "Inès",
    "Jan",
    "Karima",
    "Luc",
    "Marie",
    "Nico",
    "Olga",
    "Pieter",
    "Quentin",
    "Rania",
    "Sofie",
    "Tom",
    "Ursula",
    "Vincent",
    "Wout",
    "Yasmine",
    "Zoë",
]
LAST_NAMES = [
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Dubois",
    "Lambert",
    "Martin",
    "Dupont",
    "Simon",
    "Laurent",
    "Lejeune",
    "Renard",
    "El Amrani",
    "Benali",
    "Vermeulen",
    "Leclercq",
    "Hermans",
    "Michel",
    "Desmet",
]
FUNCTIONS = [
    ("Mayor", ThreatGround.FUNCTION),
    ("Alderman", ThreatGround.FUNCTION),
    ("Judge", ThreatGround.FUNCTION),
    ("Public prosecutor", ThreatGround.FUNCTION),
    ("Member of parliament", ThreatGround.FUNCTION),
    ("Journalist", ThreatGround.PROFESSION),
    ("Police officer", ThreatGround.PROFESSION),
    ("Prison director", ThreatGround.PROFESSION),
    ("Doctor", ThreatGround.PROFESSION),
    ("Imam", ThreatGround.SOCIAL_ROLE),
    ("Activist", ThreatGround.SOCIAL_ROLE),
    ("Opinion maker", ThreatGround.SOCIAL_ROLE),
]
COUNTRIES = [
    "Austria",
    "Belgium",
    "Bulgaria",
    "Croatia",
    "Cyprus",
    "Czechia",
    "Denmark",
    "Estonia",
    "Finland",
    "France",
    "Germany",
    "Greece",
    "Hungary",
    "Ireland",
    "Italy",
    "Latvia",
    "Lithuania",
    "Luxembourg",
    "Malta",
    "Netherlands",
    "Poland",
    "Portugal",
    "Romania",
    "Slovakia",
    "Slovenia",
    "Spain",
    "Sweden",
    "Albania",
    "Canada",
    "Iceland",
    "Montenegro",
    "North Macedonia",
    "Norway",
    "Türkiye",
    "United Kingdom",
    "United States",
    "Ukraine",
    "Moldova",
    "Georgia",
    "Japan",
]
PLACES = [
    "Brussels – Europa building",
    "Brussels – NATO headquarters",
    "Brussels – Egmont Palace",
    "Brussels – Berlaymont",
]


class AlreadySeeded(Exception):
    pass


def seed(echo: Callable[[str], None]) -> tuple[dict[str, str], dict[str, str]]:
    """Create the demo data set in one transaction; return the accounts' passwords, and
    the enrolment codes of those whose first sign-in sets up a second factor."""
    if db.session.scalar(select(Organisation.id).where(Organisation.name == "NCCN")):
        raise AlreadySeeded
    orgs = {name: Organisation(name=name, kind=kind) for name, kind in ORGANISATIONS}
    db.session.add_all(orgs.values())
    types = {t.code: t for t in standard_measure_types()}
    db.session.add_all(types.values())
    db.session.flush()
    passwords: dict[str, str] = {}
    codes: dict[str, str] = {}
    users: dict[Role, User] = {}
    for email, name, role, org in ACCOUNTS:
        passwords[email] = secrets.token_urlsafe(12)
        user = create_user(
            email=email,
            full_name=name,
            role=role,
            password=passwords[email],
            organisation_id=orgs[org].id if org else None,
            actor=None,
        )
        if must_enrol(user):
            codes[email] = issue_enrolment_code(user, None)
        users.setdefault(role, user)
    seeder = _Seeder(users[Role.OFFICER], orgs, types)
    seeder.standard_sets()
    vip_pool = seeder.vip_pool()
    previous: list[Person] = []
    for year, plan in PLANS.items():
        echo(f"  {year}: threatened persons")
        previous = seeder.threatened_persons(year, plan, previous)
        echo(f"  {year}: VIP protection")
        seeder.vip_events(year, plan, vip_pool)
    echo("  a summit in preparation")
    seeder.summit_in_preparation(vip_pool, clock.today())
    # Mailboxes once the history is written: the demo's past sends no mail; what is
    # decided from now on does (to instance/mail under `make run`).
    for name, organisation in orgs.items():
        if organisation.kind is not OrganisationKind.CRISIS_CENTRE:
            organisation.mailbox = "dispatch@" + names.fold(name).replace(" ", "-") + ".example"
            organisation.language = "fr" if name in FRENCH_SPEAKING else "nl"
    return passwords, codes


class _Seeder:
    def __init__(
        self, officer: User, orgs: dict[str, Organisation], types: dict[str, MeasureType]
    ) -> None:
        self.officer = officer
        self.orgs = orgs
        self.types = types
        self.name_counter = 0
        self.seeded_at = clock.now_utc()

    def _name(self, rng: random.Random) -> str:
        self.name_counter += 1
        return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"

    def _at(self, day: dt.date, hour: int = 10) -> dt.datetime:
        # A day still to come (a closure after the day of seeding) is recorded as of it.
        return min(dt.datetime.combine(day, dt.time(hour)), self.seeded_at)

    def _on(self, day: dt.date) -> AbstractContextManager[None]:
        """What is recorded in the block (rows and audit events) is dated on `day`."""
        return clock.as_of(self._at(day))

    def _move(self, dossier: Dossier, name: str, day: dt.date, reason: str = "") -> None:
        with self._on(day):
            workflow.transition(dossier, name, self.officer, reason, at=self._at(day))

    def _dossier(
        self, kind: DossierKind, title: str, opened_on: dt.date, ground: ThreatGround | None
    ) -> Dossier:
        with self._on(opened_on):
            return casework.create_dossier(
                kind=kind, title=title, opened_on=opened_on, ground=ground, actor=self.officer
            )

    def _link_all(self, dossier: Dossier, persons: list[Person]) -> None:
        db.session.add_all(DossierPerson(dossier_id=dossier.id, person_id=p.id) for p in persons)
        db.session.flush()
        db.session.expire(dossier, ["persons"])

    def _measure(
        self,
        dossier: Dossier,
        code: str,
        org: str,
        start: dt.date,
        end: dt.date | None,
        description: str,
        person: Person | None = None,
        status: MeasureStatus = MeasureStatus.IN_EXECUTION,
    ) -> Measure:
        measure = Measure(
            dossier=dossier,
            measure_type=self.types[code],
            organisation=self.orgs[org],
            person=person,
            start_date=start,
            end_date=end,
            description=description,
            status=status,
        )
        db.session.add(measure)
        return measure

    def threatened_persons(self, year: int, plan: YearPlan, previous: list[Person]) -> list[Person]:
        rng = random.Random(year)  # nosec B311
        sizes = [1] * plan.tp_dossiers
        for _ in range(plan.tp_persons - plan.tp_dossiers):
            sizes[rng.randrange(plan.tp_dossiers)] += 1
        # A few people threatened again a year later stay one person.
        returning = list(previous[:4])
        everyone: list[Person] = []
        days = sorted(
            dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
            for _ in range(plan.tp_dossiers + plan.tp_without_measures)
        )
        for index, opened in enumerate(days):
            function, ground = rng.choice(FUNCTIONS)
            with_measures = index < plan.tp_dossiers
            size = sizes[index] if with_measures else 1
            persons = [
                returning.pop()
                if returning and with_measures and size == 1
                else Person(name=self._name(rng), function=function)
            ]
            persons += [
                Person(name=self._name(rng), function="Family member") for _ in range(size - 1)
            ]
            db.session.add_all(p for p in persons if p.id is None)
            title = f"{function} threatened – {rng.choice(LOCAL_ZONES)[12:]}"
            dossier = self._dossier(DossierKind.THREATENED_PERSON, title, opened, ground)
            self._link_all(dossier, persons)
            everyone.extend(persons)
            if not with_measures:
                self._without_measures(dossier, rng, opened, index - plan.tp_dossiers)
                continue
            self._move(dossier, "start_assessment", opened + dt.timedelta(days=1))
            self._assess(dossier, rng, opened + dt.timedelta(days=3))
            zone = rng.choice(LOCAL_ZONES)
            start = opened + dt.timedelta(days=5)
            # The latest measures still wait for their partner's acknowledgement.
            status = (
                MeasureStatus.REQUESTED
                if opened >= dt.date(2024, 10, 1)
                else MeasureStatus.IN_EXECUTION
            )
            self._measure(
                dossier,
                "contact_point",
                zone,
                start,
                None,
                "A fixed contact person at the zone, known to the family.",
                status=status,
            )
            if rng.random() < 0.6:
                self._measure(
                    dossier,
                    "emergency_priority",
                    zone,
                    start,
                    None,
                    "Calls from the home address handled with priority.",
                )
            if rng.random() < 0.3:
                self._measure(
                    dossier,
                    "patrols",
                    zone,
                    start,
                    None,
                    "Passing patrols at the home address, day and night.",
                    person=persons[0],
                )
            if rng.random() < 0.1:
                self._measure(
                    dossier,
                    "close_protection",
                    "Federal Police DAP",
                    start,
                    None,
                    "Close protection during public appearances.",
                    person=persons[0],
                )
            with self._on(start):
                db.session.flush()
            self._move(dossier, "decide_measures", start)
            if year < 2024 or rng.random() < 0.5:
                closed = start + dt.timedelta(days=rng.randrange(60, 330))
                if rng.random() < 0.15:
                    self._move(
                        dossier,
                        "reassess",
                        closed - dt.timedelta(days=30),
                        "New threatening messages received.",
                    )
                    self._assess(dossier, rng, closed - dt.timedelta(days=25))
                    self._move(dossier, "decide_measures", closed - dt.timedelta(days=20))
                self._move(dossier, "close", closed, "The threat is no longer current.")
        return [p for p in everyone if p.function != "Family member"]

    def _without_measures(
        self, dossier: Dossier, rng: random.Random, opened: dt.date, position: int
    ) -> None:
        """Most reports need no measures; the last year's latest few are still being
        looked at, so that the officers' dashboard has work on it."""
        still_open = dossier.year == max(PLANS) and position < 3
        if still_open and position == 0:
            return  # at intake
        self._move(dossier, "start_assessment", opened + dt.timedelta(days=1))
        if still_open:
            if position == 2:
                self._assess(dossier, rng, opened + dt.timedelta(days=3))
            return
        self._move(
            dossier,
            "close_without_measures",
            opened + dt.timedelta(days=6),
            "OCAM assessed no concrete threat; no measures needed.",
        )

    def _assess(self, dossier: Dossier, rng: random.Random, on: dt.date) -> None:
        with self._on(on):
            casework.record_assessment(
                dossier,
                source=rng.choice(
                    [AssessmentSource.OCAM, AssessmentSource.OCAM, AssessmentSource.FEDERAL_POLICE]
                ),
                level=rng.choices([1, 2, 3, 4], weights=[2, 5, 3, 1])[0],
                assessed_on=on,
                review_on=on + dt.timedelta(days=180),
                summary="Threats received through social media and by letter; "
                "assessment of intent and capability attached.",
                actor=self.officer,
            )

    def vip_pool(self) -> dict[str, list[Person]]:
        rng = random.Random(2021)  # nosec B311
        heads, others = [], []
        for country in COUNTRIES:
            heads.append(
                Person(
                    name=self._name(rng),
                    function="Head of state",
                    category=VipCategory.HEAD_OF_STATE,
                    country=country,
                )
            )
            heads.append(
                Person(
                    name=self._name(rng),
                    function="Head of government",
                    category=VipCategory.HEAD_OF_GOVERNMENT,
                    country=country,
                )
            )
            for role in (
                "Minister of Foreign Affairs",
                "Minister of Defence",
                "Minister of Finance",
                "Minister of the Interior",
            ):
                others.append(
                    Person(
                        name=self._name(rng),
                        function=role,
                        category=VipCategory.MINISTER,
                        country=country,
                    )
                )
            for role in ("Ambassador", "Chief of staff", "Diplomatic adviser"):
                others.append(
                    Person(
                        name=self._name(rng),
                        function=role,
                        category=VipCategory.OTHER,
                        country=country,
                    )
                )
        db.session.add_all(heads + others)
        db.session.flush()
        return {"heads": heads, "others": others}

    def standard_sets(self) -> None:
        for category, code, org in STANDARD_SETS:
            measures.add_standard(category, self.types[code], self.orgs[org], self.officer)
        db.session.flush()

    def vip_events(self, year: int, plan: YearPlan, pool: dict[str, list[Person]]) -> None:
        rng = random.Random(year * 7)  # nosec B311
        number = 0
        for kind, count, heads, others in plan.events:
            for index in range(count):
                number += 1
                start = dt.date(year, 1, 10) + dt.timedelta(days=(number * 347) % 340)
                title = f"{_event_title(kind)} {year} #{index + 1}"
                event = self._event(kind, title, start, number)
                delegates = _delegates(
                    pool, _share(heads, count, index), _share(others, count, index), rng
                )
                approved = start - dt.timedelta(days=10)
                for country, persons in _by_country(delegates):
                    dossier = self._delegation(event, country, persons, rng)
                    dossier.approval_date = approved
                    dossier.approval_reference = f"BiZa/{year}/{number:03d}"
                    db.session.flush()
                    self._move(dossier, "decide_measures", approved + dt.timedelta(days=1))
                    for measure in dossier.measures:
                        measure.status = MeasureStatus.IN_EXECUTION
                    over = event.end_date + dt.timedelta(days=1)
                    self._move(dossier, "close", over, "The event is over.")
        if year == 2023:
            # A state visit whose protection was not needed: it counts nowhere.
            visit = self._event(EventKind.STATE_VISIT, "State visit 2023", dt.date(2023, 5, 15), 0)
            visit.place = "Brussels – Royal Palace"
            dossier = self._dossier(
                DossierKind.VIP_PROTECTION, visit.name, dt.date(2023, 4, 20), None
            )
            dossier.event = visit
            self._link_all(dossier, rng.sample(pool["heads"], 1))
            self._move(
                dossier, "close_without_measures", dt.date(2023, 5, 2), "The visit was cancelled."
            )

    def summit_in_preparation(self, pool: dict[str, list[Person]], today: dt.date) -> None:
        """A summit three weeks ahead, halfway through its planning: three delegations
        decided and sent to their partners, three still in assessment with their standard
        measures proposed, one at intake without any, so that the event pages, the
        coverage and the partners' event groups have work in them."""
        rng = random.Random(2026)  # nosec B311
        start = today + dt.timedelta(days=21)
        event = self._event(EventKind.EUROPEAN_SUMMIT, "European Council – next summit", start, 0)
        opened = today - dt.timedelta(days=9)
        groups = _by_country(_delegates(pool, 14, 49, rng))
        delegations = [
            self._delegation(event, country, persons, rng, opened=opened, assessed_after=3)
            for country, persons in groups[:6]
        ]
        country, persons = groups[6]
        at_intake = self._dossier(
            DossierKind.VIP_PROTECTION, f"{event.name} – {country}", opened, None
        )
        at_intake.event = event
        self._link_all(at_intake, persons)
        approved = today - dt.timedelta(days=2)
        with self._on(approved):
            events.record_event_approval(
                event, on=approved, reference="BiZa/summit/001", actor=self.officer
            )
        for dossier in delegations[:3]:
            self._move(dossier, "decide_measures", today - dt.timedelta(days=1))

    def _event(self, kind: EventKind, name: str, start: dt.date, number: int) -> Event:
        event = Event(
            name=name,
            kind=kind,
            start_date=start,
            end_date=start + dt.timedelta(days=1),
            place=PLACES[number % len(PLACES)],
            host=_event_host(kind),
        )
        db.session.add(event)
        return event

    def _delegation(
        self,
        event: Event,
        country: str,
        delegates: list[Person],
        rng: random.Random,
        opened: dt.date | None = None,
        assessed_after: int = 10,
    ) -> Dossier:
        """One country's delegation: assessed, a perimeter around its hotel for the whole
        delegation, and the standard measures of its VIPs' categories."""
        opened = opened or event.start_date - dt.timedelta(days=30)
        dossier = self._dossier(
            DossierKind.VIP_PROTECTION, f"{event.name} – {country}", opened, None
        )
        dossier.event = event
        self._link_all(dossier, delegates)
        self._move(dossier, "start_assessment", opened + dt.timedelta(days=1))
        assessed = opened + dt.timedelta(days=assessed_after)
        # Assessed, then its measures proposed, the same day.
        with self._on(assessed):
            casework.record_assessment(
                dossier,
                source=AssessmentSource.OCAM,
                level=rng.choice([2, 3]),
                assessed_on=assessed,
                review_on=None,
                summary="General threat picture for the event and the delegation.",
                actor=self.officer,
            )
            self._measure(
                dossier,
                "perimeter",
                LOCAL_ZONES[0],
                event.start_date,
                event.end_date,
                "Perimeter around the delegation's hotel.",
                status=MeasureStatus.REQUESTED,
            )
            db.session.flush()
            if any(person.category in SET_CATEGORIES for person in delegates):
                measures.apply_standard_sets(dossier, self.officer)
        return dossier


def _delegates(
    pool: dict[str, list[Person]], heads: int, others: int, rng: random.Random
) -> list[Person]:
    """Whole delegations rather than people scattered over every country: country after
    country in one drawn order, its heads and its other members, up to the numbers."""
    order = {country: rng.random() for country in COUNTRIES}
    return [
        person
        for wanted, people in ((heads, pool["heads"]), (others, pool["others"]))
        for person in sorted(people, key=lambda p: order[p.country or ""])[:wanted]
    ]


def _by_country(delegates: list[Person]) -> list[tuple[str, list[Person]]]:
    """The delegates as delegations, one per country, in the order of COUNTRIES."""
    return [
        (country, [p for p in delegates if p.country == country])
        for country in COUNTRIES
        if any(p.country == country for p in delegates)
    ]


def _share(total: int, parts: int, index: int) -> int:
    """Split total into parts that differ by at most one."""
    return total // parts + (1 if index < total % parts else 0)


def _event_host(kind: EventKind) -> str:
    return {
        EventKind.EU_MINISTERIAL_COUNCIL: "Council of the EU – presidency",
        EventKind.NATO_MINISTERIAL: "NATO",
        EventKind.EUROPEAN_SUMMIT: "European Council",
        EventKind.NATO_SUMMIT: "NATO",
        EventKind.STATE_VISIT: "Royal Palace",
        EventKind.OTHER: "",
    }[kind]


def _event_title(kind: EventKind) -> str:
    return {
        EventKind.EU_MINISTERIAL_COUNCIL: "Council of the EU – ministers",
        EventKind.NATO_MINISTERIAL: "NATO ministerial meeting",
        EventKind.EUROPEAN_SUMMIT: "European Council",
        EventKind.NATO_SUMMIT: "NATO summit",
        EventKind.STATE_VISIT: "State visit",
        EventKind.OTHER: "Event",
    }[kind]
