"""The counting rules of the yearly figures, as aggregate SQL returning plain data.

Each figure is a *population*: a select whose rows are exactly what the figure
counts. The figure is the count of those rows, a breakdown groups them, and its
drill-down lists them: a list's length always equals its figure, by construction.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
)

from .clock import end_of_year
from .extensions import db
from .models import (
    Dossier,
    DossierKind,
    DossierPerson,
    DossierState,
    Event,
    EventKind,
    Measure,
    MeasureType,
    Organisation,
    Person,
    ReferenceCounter,
    ThreatAssessment,
    Transition,
    VipCategory,
    latest_assessment,
)

COUNCIL_KINDS = (EventKind.EU_MINISTERIAL_COUNCIL, EventKind.NATO_MINISTERIAL)
COUNTED_EVENT_KINDS = (
    *COUNCIL_KINDS,
    EventKind.EUROPEAN_SUMMIT,
    EventKind.NATO_SUMMIT,
    EventKind.STATE_VISIT,
)
HEADS = (VipCategory.HEAD_OF_STATE, VipCategory.HEAD_OF_GOVERNMENT)


def bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


# --- Populations: one select per figure; its rows are what the figure counts. -------
# Every population has the columns `reference` and `on` (a date) for its drill-down,
# and the id column(s) of what it counts.


def _decided_measure_exists():
    return exists().where(Measure.dossier_id == Dossier.id, Measure.decided_at.is_not(None))


def tp_dossiers(year: int) -> Select:
    """Threatened-person dossiers opened in the year with at least one decided measure."""
    first, last = bounds(year)
    return select(
        Dossier.id.label("dossier_id"),
        Dossier.reference.label("reference"),
        Dossier.opened_on.label("on"),
    ).where(
        Dossier.kind == DossierKind.THREATENED_PERSON,
        Dossier.opened_on.between(first, last),
        _decided_measure_exists(),
    )


def _persons_of(dossiers: Select) -> Select:
    # Grouped by `person_id + 0`: grouping by the bare column lets SQLite walk every link
    # of the whole history in person order to skip a sort; the expression makes it start
    # from the chosen dossiers (50 ms instead of 5 s at a hundred times the volume).
    chosen = dossiers.subquery()
    unindexed = DossierPerson.person_id + literal_column("0")  # the same text in both places
    person = unindexed.label("person_id")
    return (
        select(
            person,
            func.min(chosen.c.reference).label("reference"),
            func.min(chosen.c.on).label("on"),
        )
        .join(chosen, chosen.c.dossier_id == DossierPerson.dossier_id)
        .group_by(unindexed)
    )


def tp_persons(year: int) -> Select:
    """Distinct persons of those dossiers."""
    return _persons_of(tp_dossiers(year))


def open_dossiers(day: dt.date) -> Select:
    """Dossiers of either kind opened by the day and not closed on it."""
    return select(
        Dossier.id.label("dossier_id"),
        Dossier.reference.label("reference"),
        Dossier.opened_on.label("on"),
    ).where(Dossier.opened_on <= day, or_(Dossier.closed_on.is_(None), Dossier.closed_on > day))


def open_persons(day: dt.date) -> Select:
    return _persons_of(open_dossiers(day))


def attendances(year: int) -> Select:
    """Distinct (event, person) pairs of counted events starting in the year, where the
    person has a decided measure: one for them, or one for their whole dossier."""
    first, last = bounds(year)
    covered = exists().where(
        Measure.dossier_id == Dossier.id,
        Measure.decided_at.is_not(None),
        or_(Measure.person_id.is_(None), Measure.person_id == DossierPerson.person_id),
    )
    return (
        select(
            Event.id.label("event_id"),
            DossierPerson.person_id.label("person_id"),
            Event.kind.label("kind"),
            func.coalesce(Person.category, VipCategory.OTHER.value).label("category"),
            Event.start_date.label("on"),
            func.min(Dossier.reference).label("reference"),
        )
        .select_from(Event)
        .join(
            Dossier, and_(Dossier.event_id == Event.id, Dossier.kind == DossierKind.VIP_PROTECTION)
        )
        .join(DossierPerson, DossierPerson.dossier_id == Dossier.id)
        .join(Person, Person.id == DossierPerson.person_id)
        .where(Event.start_date.between(first, last), Event.kind.in_(COUNTED_EVENT_KINDS), covered)
        .group_by(Event.id, DossierPerson.person_id, Event.kind, Person.category, Event.start_date)
    )


def head_attendances(year: int) -> Select:
    pairs = attendances(year).subquery()
    return select(pairs).where(pairs.c.category.in_([c.value for c in HEADS]))


def events(year: int, kinds: tuple[EventKind, ...]) -> Select:
    """Events of these kinds starting in the year with at least one protected VIP."""
    pairs = attendances(year).subquery()
    return (
        select(
            pairs.c.event_id,
            func.min(pairs.c.reference).label("reference"),
            func.min(pairs.c.on).label("on"),
        )
        .where(pairs.c.kind.in_([k.value for k in kinds]))
        .group_by(pairs.c.event_id)
    )


# --- Breakdowns: a population with a `group` column. ----------------------------------


def _level_at(day: dt.date):
    """A dossier's level on the day: its latest assessment dated on or before it, read
    for each dossier of the population by index (a ranking over every assessment ever
    made would read the whole history for one year's figure)."""
    return latest_assessment(ThreatAssessment.level, Dossier.id, on=day)


def _state_at(moment: dt.datetime):
    """A dossier's state at the moment: the target of its latest transition before it
    (correlated, as _level_at)."""
    return (
        select(Transition.to_state)
        .where(Transition.dossier_id == Dossier.id, Transition.at < moment)
        .order_by(Transition.at.desc(), Transition.id.desc())
        .limit(1)
        .correlate(Dossier)
        .scalar_subquery()
    )


def tp_by_month(year: int) -> Select:
    return tp_dossiers(year).add_columns(
        cast(func.extract("month", Dossier.opened_on), Integer).label("group")
    )


def tp_by_level(year: int) -> Select:
    return tp_dossiers(year).add_columns(
        func.coalesce(_level_at(bounds(year)[1]), 0).label("group")
    )


def tp_by_ground(year: int) -> Select:
    return tp_dossiers(year).add_columns(
        func.coalesce(cast(Dossier.ground, String(32)), literal("none")).label("group")
    )


def tp_by_state(year: int) -> Select:
    first, last = bounds(year)
    return select(
        Dossier.id.label("dossier_id"),
        Dossier.reference.label("reference"),
        Dossier.opened_on.label("on"),
        func.coalesce(_state_at(end_of_year(year)), DossierState.INTAKE.value).label("group"),
    ).where(Dossier.kind == DossierKind.THREATENED_PERSON, Dossier.opened_on.between(first, last))


def _decided_measures(year: int) -> Select:
    first, last = bounds(year)
    return (
        select(
            Measure.id.label("measure_id"),
            Dossier.reference.label("reference"),
            Measure.start_date.label("on"),
        )
        .join(Dossier, Dossier.id == Measure.dossier_id)
        .join(MeasureType, MeasureType.id == Measure.measure_type_id)
        .join(Organisation, Organisation.id == Measure.organisation_id)
        .where(Measure.decided_at.is_not(None), Measure.start_date.between(first, last))
    )


def measures_by_type(year: int) -> Select:
    return _decided_measures(year).add_columns(MeasureType.label.label("group"))


def measures_by_partner(year: int) -> Select:
    return _decided_measures(year).add_columns(Organisation.name.label("group"))


def attendances_by_kind(year: int) -> Select:
    pairs = attendances(year).subquery()
    return select(pairs, pairs.c.kind.label("group"))


def attendances_by_category(year: int) -> Select:
    pairs = attendances(year).subquery()
    return select(pairs, pairs.c.category.label("group"))


# --- The catalogue of figures. ----------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str
    label: Any
    rule: Any
    unit: str  # dossier, person, event, attendance, measure: what a drill-down row is
    population: Callable[[int], Select]
    grouped: bool = False


FIGURES: dict[str, Figure] = {
    f.key: f
    for f in (
        Figure(
            "tp_dossiers",
            _l("threatened-person dossiers with measures"),
            _l(
                "Dossiers of threatened persons opened in the year in which at least one "
                "protection measure was decided."
            ),
            "dossier",
            tp_dossiers,
        ),
        Figure(
            "tp_persons",
            _l("persons under protection"),
            _l("Distinct persons in those dossiers; a person in two dossiers counts once."),
            "person",
            tp_persons,
        ),
        Figure(
            "ministerial_councils",
            _l("ministerial councils (EU and NATO)"),
            _l(
                "EU and NATO ministerial meetings starting in the year with at least one "
                "protected VIP."
            ),
            "event",
            lambda y: events(y, COUNCIL_KINDS),
        ),
        Figure(
            "european_summits",
            _l("European summits"),
            _l("European summits starting in the year with at least one protected VIP."),
            "event",
            lambda y: events(y, (EventKind.EUROPEAN_SUMMIT,)),
        ),
        Figure(
            "nato_summits",
            _l("NATO summits"),
            _l("NATO summits starting in the year with at least one protected VIP."),
            "event",
            lambda y: events(y, (EventKind.NATO_SUMMIT,)),
        ),
        Figure(
            "state_visits",
            _l("state visits"),
            _l("State visits starting in the year with at least one protected VIP."),
            "event",
            lambda y: events(y, (EventKind.STATE_VISIT,)),
        ),
        Figure(
            "protected_attendances",
            _l("protected VIP attendances"),
            _l(
                "Distinct (event, person) pairs of those events where the person had a "
                "decided measure, for them or for their whole delegation."
            ),
            "attendance",
            attendances,
        ),
        Figure(
            "heads_of_state_or_government",
            _l("of them heads of state or government"),
            _l("Those attendances by heads of state or of government."),
            "attendance",
            head_attendances,
        ),
        Figure(
            "tp_by_month",
            _l("New dossiers with measures by month"),
            _l("The threatened-person dossiers with measures, by the month they were opened."),
            "dossier",
            tp_by_month,
            grouped=True,
        ),
        Figure(
            "tp_by_level",
            _l("By threat level"),
            _l(
                "The same dossiers by their threat level on 31 December: the latest "
                "assessment dated that day or before."
            ),
            "dossier",
            tp_by_level,
            grouped=True,
        ),
        Figure(
            "tp_by_ground",
            _l("By ground of the threat"),
            _l(
                "The same dossiers by the ground of the threat: function, profession or "
                "social role."
            ),
            "dossier",
            tp_by_ground,
            grouped=True,
        ),
        Figure(
            "tp_by_state",
            _l("State at year end"),
            _l("Every threatened-person dossier opened in the year, by its state on 31 December."),
            "dossier",
            tp_by_state,
            grouped=True,
        ),
        Figure(
            "measures_by_type",
            _l("Measures by type"),
            _l("Decided measures starting in the year, both kinds of dossier, by type."),
            "measure",
            measures_by_type,
            grouped=True,
        ),
        Figure(
            "measures_by_partner",
            _l("Measures by partner"),
            _l("The same measures by the partner organisation that carries them out."),
            "measure",
            measures_by_partner,
            grouped=True,
        ),
        Figure(
            "attendances_by_kind",
            _l("VIP attendances by kind of event"),
            _l("The protected VIP attendances by kind of event."),
            "attendance",
            attendances_by_kind,
            grouped=True,
        ),
        Figure(
            "attendances_by_category",
            _l("VIP attendances by category"),
            _l("The protected VIP attendances by the person's category."),
            "attendance",
            attendances_by_category,
            grouped=True,
        ),
    )
}
HEADLINE = [k for k, f in FIGURES.items() if not f.grouped]
BREAKDOWNS = [k for k, f in FIGURES.items() if f.grouped]
OPEN_RULE = _l(
    "Dossiers of either kind opened on or before the day and not closed on it, "
    "and the distinct persons in them."
)


def _count(population: Select):
    return select(func.count()).select_from(population.subquery()).scalar_subquery()


# The report's statements are built once per year (or day) and process: building them
# costs about as much Python as a year's SQL takes at the real volume, and a statement,
# once built, is immutable and holds its bounds as values.
STATEMENTS_KEPT = 256


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _headline_statement(year: int) -> Select:
    return select(*(_count(FIGURES[k].population(year)).label(k) for k in HEADLINE))


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _breakdown_statement(key: str, year: int) -> Select:
    grouped = FIGURES[key].population(year).subquery()
    return select(grouped.c.group, func.count()).group_by(grouped.c.group)


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _open_on_statement(day: dt.date) -> Select:
    return select(
        _count(open_dossiers(day)).label("dossiers"), _count(open_persons(day)).label("persons")
    )


def headline_values(year: int) -> dict[str, int]:
    """Every headline figure of the year, in one query."""
    return dict(db.session.execute(_headline_statement(year)).one()._mapping)


def breakdown_values(key: str, year: int) -> dict[Any, int]:
    rows = db.session.execute(_breakdown_statement(key, year))
    return {_plain(group): count for group, count in rows}


def _plain(value: Any) -> Any:
    """Groups as plain values (enum members by their stored value)."""
    return getattr(value, "value", value)


def open_on(day: dt.date) -> dict[str, int]:
    """Dossiers not closed on the day, and the distinct persons in them, in one query."""
    return dict(db.session.execute(_open_on_statement(day)).one()._mapping)


def headline(year: int) -> dict[str, Any]:
    """The published figures of a year in the fixed JSON shape of `flask stats`."""
    values = headline_values(year)
    return {
        "year": year,
        "threatened_persons": {
            "dossiers_with_measures": values["tp_dossiers"],
            "persons": values["tp_persons"],
        },
        "vip_protection": {
            "ministerial_councils": values["ministerial_councils"],
            "european_summits": values["european_summits"],
            "nato_summits": values["nato_summits"],
            "state_visits": values["state_visits"],
            "protected_attendances": values["protected_attendances"],
            "heads_of_state_or_government": values["heads_of_state_or_government"],
        },
    }


def years_with_data() -> list[int]:
    """Read from the reference counters (a row per kind and year): a DISTINCT over the
    dossiers would read the whole history on every statistics page."""
    return list(
        db.session.scalars(
            select(ReferenceCounter.year)
            .where(ReferenceCounter.last_sequence > 0)
            .distinct()
            .order_by(ReferenceCounter.year.desc())
        )
    )


def population(key: str, year: int, group: Any = None, day: dt.date | None = None) -> Select:
    """The rows behind a figure (or one group of a breakdown), for its drill-down."""
    if key == "open_dossiers":
        return open_dossiers(day or bounds(year)[1])
    if key == "open_persons":
        return open_persons(day or bounds(year)[1])
    figure = FIGURES[key]
    rows = figure.population(year)
    if figure.grouped:
        grouped = rows.subquery()
        return select(grouped).where(grouped.c.group == group)
    return rows
