"""The counting rules of the yearly figures: each a population select (figures.py holds
the catalogue that names, groups and counts them).

Each figure is a *population*: a select whose rows are exactly what the figure
counts. The figure is the count of those rows, a breakdown groups them, and its
drill-down lists them: a list's length always equals its figure, by construction.
"""

from __future__ import annotations

import datetime as dt

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
    ThreatAssessment,
    Transition,
    VipCategory,
    counts_as_decided,
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
    return exists().where(Measure.dossier_id == Dossier.id, counts_as_decided())


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


def in_force_during_event():
    """A measure in force on at least one day of the event: it starts on or before the
    event's last day, and has no end or ends on or after its first day."""
    return and_(
        Measure.start_date <= Event.end_date,
        or_(Measure.end_date.is_(None), Measure.end_date >= Event.start_date),
    )


def covered_at_event():
    """The person of a delegation (DossierPerson of Dossier) is protected at its Event: a
    decided measure for them, or for their whole delegation, in force on at least one
    day of the event. Counted by the figures, shown as coverage on the event's page."""
    return exists().where(
        Measure.dossier_id == Dossier.id,
        counts_as_decided(),
        or_(Measure.person_id.is_(None), Measure.person_id == DossierPerson.person_id),
        in_force_during_event(),
    )


def attendances(year: int) -> Select:
    """Distinct (event, person) pairs of counted events starting in the year, where the
    person is protected at the event (covered_at_event)."""
    first, last = bounds(year)
    covered = covered_at_event()
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
        .where(counts_as_decided(), Measure.start_date.between(first, last))
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
