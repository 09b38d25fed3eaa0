"""The catalogue of figures: each names its population (statistics.py), its counting
rule, what a row of its drill-down is, and for a breakdown its groups in reading order
with their labels. Pages, drill-downs, exports and the CLI read it; a new figure is one
entry here.

Headline figures count over a year; breakdowns group the same kind of population; dated
figures ("open on a day") count on one day, 31 December of a past year by default.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import format_date, npgettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from . import clock, queries, statistics
from .extensions import db
from .labels import LABELS, LEVELS, measure_type_name
from .models import (
    DossierState,
    EventKind,
    MeasureType,
    ReferenceCounter,
    ThreatGround,
    VipCategory,
)
from .statistics import COUNCIL_KINDS, COUNTED_EVENT_KINDS

# A breakdown's groups in reading order, with labels, given the groups that have rows.
Groups = Callable[[set[Any]], list[tuple[Any, str]]]


def _months(present: set[Any]) -> list[tuple[Any, str]]:
    return [(m, format_date(dt.date(2000, m, 1), "MMM")) for m in range(1, 13)]


def _levels(present: set[Any]) -> list[tuple[Any, str]]:
    levels: list[tuple[Any, str]] = [(n, str(LEVELS[n])) for n in (1, 2, 3, 4)]
    return levels + ([(0, str(_l("not assessed")))] if 0 in present else [])


def _every(members: list) -> Groups:
    """A fixed list shows every group, zero or not, so that two years compare line by
    line; a stored value outside it comes last, as stored."""

    def groups(present: set[Any]) -> list[tuple[Any, str]]:
        fixed = [(member.value, str(LABELS[member])) for member in members]
        known = {g for g, _ in fixed}
        return fixed + [(g, str(g)) for g in sorted(present - known, key=str)]

    return groups


def _measure_types(present: set[Any]) -> list[tuple[Any, str]]:
    """Groups are stored labels; shown in the reader's language."""
    codes = {
        label: code
        for label, code in db.session.execute(select(MeasureType.label, MeasureType.code))
    }
    return [(g, measure_type_name(codes.get(g), str(g))) for g in sorted(present, key=str)]


def _as_stored(present: set[Any]) -> list[tuple[Any, str]]:
    return [(g, str(g)) for g in sorted(present, key=str)]


@dataclass(frozen=True)
class Figure:
    key: str
    label: Any
    rule: Any
    unit: str  # dossier, person, event, attendance, measure: what a drill-down row is
    population: Callable[[Any], Select]  # of a year, or of a day when `dated`
    groups: Groups | None = None  # a breakdown
    numbered: bool = False  # its groups are numbers (month, level)
    largest_first: bool = False  # its groups ordered by value, not by a fixed list
    dated: bool = False
    # Its label agreeing with a count ("1 NATO summit", "2 NATO summits"), in the
    # reader's language's plural rules; a breakdown is named by its label alone.
    noun: Callable[[int], str] | None = None

    def label_for(self, count: int) -> str:
        return self.noun(count) if self.noun else str(self.label)

    @property
    def grouped(self) -> bool:
        return self.groups is not None

    def rows(self, year: int, group: Any = None, day: dt.date | None = None) -> Select:
        """The rows behind the figure (or one group of a breakdown)."""
        rows = self.population(day or default_day(year)) if self.dated else self.population(year)
        if not self.grouped:
            return rows
        grouped = rows.subquery()
        return select(grouped).where(grouped.c.group == group)

    def group_of(self, raw: str | None) -> Any:
        """A group as a query string gives it; None when it cannot be one."""
        if raw is None or not self.grouped:
            return None
        if self.numbered:
            return int(raw) if re.fullmatch(r"[0-9]{1,2}", raw) else None
        # A stored group is one line of a name's length; anything else matches no row.
        if len(raw) > 200 or any(unicodedata.category(c)[0] == "C" for c in raw):
            return None
        return raw

    def group_label(self, group: Any) -> str | None:
        if group is None or self.groups is None:
            return None
        return dict(self.groups({group})).get(group, str(group))

    def known_group_label(self, group: Any, population: Select) -> str | None:
        """The group's label when the group is one of the figure's own (its fixed list, or
        present in the rows); None for text a query string made up."""
        if group is None or self.groups is None:
            return None
        fixed = dict(self.groups(set()))
        if group in fixed:
            return fixed[group]
        if db.session.scalar(select(population.exists())):
            return self.group_label(group)
        return None


def default_day(year: int) -> dt.date:
    """The day a dated figure of the year counts on: 31 December of a past year, today
    for the current one."""
    return min(dt.date(year, 12, 31), clock.today())


OPEN_RULE = _l(
    "Dossiers of either kind opened on or before the day and not closed on it, "
    "and the distinct persons in them."
)

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
            statistics.tp_dossiers,
            noun=lambda n: npgettext(
                "figure",
                "threatened-person dossier with measures",
                "threatened-person dossiers with measures",
                n,
            ),
        ),
        Figure(
            "tp_persons",
            _l("persons under protection"),
            _l("Distinct persons in those dossiers; a person in two dossiers counts once."),
            "person",
            statistics.tp_persons,
            noun=lambda n: npgettext(
                "figure", "person under protection", "persons under protection", n
            ),
        ),
        Figure(
            "ministerial_councils",
            _l("ministerial councils (EU and NATO)"),
            _l(
                "EU and NATO ministerial meetings starting in the year with at least one "
                "protected VIP."
            ),
            "event",
            lambda y: statistics.events(y, COUNCIL_KINDS),
            noun=lambda n: npgettext(
                "figure",
                "ministerial council (EU and NATO)",
                "ministerial councils (EU and NATO)",
                n,
            ),
        ),
        Figure(
            "european_summits",
            _l("European summits"),
            _l("European summits starting in the year with at least one protected VIP."),
            "event",
            lambda y: statistics.events(y, (EventKind.EUROPEAN_SUMMIT,)),
            noun=lambda n: npgettext("figure", "European summit", "European summits", n),
        ),
        Figure(
            "nato_summits",
            _l("NATO summits"),
            _l("NATO summits starting in the year with at least one protected VIP."),
            "event",
            lambda y: statistics.events(y, (EventKind.NATO_SUMMIT,)),
            noun=lambda n: npgettext("figure", "NATO summit", "NATO summits", n),
        ),
        Figure(
            "state_visits",
            _l("state visits"),
            _l("State visits starting in the year with at least one protected VIP."),
            "event",
            lambda y: statistics.events(y, (EventKind.STATE_VISIT,)),
            noun=lambda n: npgettext("figure", "state visit", "state visits", n),
        ),
        Figure(
            "protected_attendances",
            _l("protected VIP attendances"),
            _l(
                "Distinct (event, person) pairs of those events where the person had a "
                "decided measure, for them or for their whole delegation, in force on at "
                "least one day of the event (started by its last day, not ended before "
                "its first)."
            ),
            "attendance",
            statistics.attendances,
            noun=lambda n: npgettext(
                "figure", "protected VIP attendance", "protected VIP attendances", n
            ),
        ),
        Figure(
            "heads_of_state_or_government",
            _l("heads of state or government among them"),
            _l("Those attendances by heads of state or of government."),
            "attendance",
            statistics.head_attendances,
            noun=lambda n: npgettext(
                "figure",
                "head of state or government among them",
                "heads of state or government among them",
                n,
            ),
        ),
        Figure(
            "open_dossiers",
            _l("open dossiers"),
            OPEN_RULE,
            "dossier",
            statistics.open_dossiers,
            dated=True,
            noun=lambda n: npgettext("figure", "open dossier", "open dossiers", n),
        ),
        Figure(
            "open_persons",
            _l("persons in open dossiers"),
            OPEN_RULE,
            "person",
            statistics.open_persons,
            dated=True,
            noun=lambda n: npgettext(
                "figure", "person in open dossiers", "persons in open dossiers", n
            ),
        ),
        Figure(
            "tp_by_month",
            _l("New dossiers with measures by month"),
            _l("The threatened-person dossiers with measures, by the month they were opened."),
            "dossier",
            statistics.tp_by_month,
            groups=_months,
            numbered=True,
        ),
        Figure(
            "tp_by_level",
            _l("By threat level"),
            _l(
                "The same dossiers by their threat level on 31 December: the latest "
                "assessment dated that day or before."
            ),
            "dossier",
            statistics.tp_by_level,
            groups=_levels,
            numbered=True,
        ),
        Figure(
            "tp_by_ground",
            _l("By ground of the threat"),
            _l(
                "The same dossiers by the ground of the threat: function, profession or "
                "social role."
            ),
            "dossier",
            statistics.tp_by_ground,
            groups=_every(list(ThreatGround)),
        ),
        Figure(
            "tp_by_state",
            _l("State at year end"),
            _l("Every threatened-person dossier opened in the year, by its state on 31 December."),
            "dossier",
            statistics.tp_by_state,
            groups=_every(list(DossierState)),
        ),
        Figure(
            "measures_by_type",
            _l("Measures by type"),
            _l("Decided measures starting in the year, both kinds of dossier, by type."),
            "measure",
            statistics.measures_by_type,
            groups=_measure_types,
            largest_first=True,
        ),
        Figure(
            "measures_by_partner",
            _l("Measures by partner"),
            _l("The same measures by the partner organisation that carries them out."),
            "measure",
            statistics.measures_by_partner,
            groups=_as_stored,
            largest_first=True,
        ),
        Figure(
            "attendances_by_kind",
            _l("VIP attendances by kind of event"),
            _l("The protected VIP attendances by kind of event."),
            "attendance",
            statistics.attendances_by_kind,
            groups=_every(list(COUNTED_EVENT_KINDS)),
        ),
        Figure(
            "attendances_by_category",
            _l("VIP attendances by category"),
            _l("The protected VIP attendances by the person's category."),
            "attendance",
            statistics.attendances_by_category,
            groups=_every(list(VipCategory)),
        ),
    )
}
HEADLINE = [k for k, f in FIGURES.items() if not f.grouped and not f.dated]
DATED = [k for k, f in FIGURES.items() if f.dated]
BREAKDOWNS = [k for k, f in FIGURES.items() if f.grouped]


def headline_values(year: int) -> dict[str, int]:
    """Every headline figure of the year, in one query."""
    return dict(db.session.execute(queries.headline_statement(year)).one()._mapping)


def breakdown_values(key: str, year: int) -> dict[Any, int]:
    rows = db.session.execute(queries.breakdown_statement(key, year))
    return {_plain(group): count for group, count in rows}


def _plain(value: Any) -> Any:
    """Groups as plain values (enum members by their stored value)."""
    return getattr(value, "value", value)


def open_on(day: dt.date) -> dict[str, int]:
    """The dated figures on the day (dossiers not closed on it, and their persons), in
    one query."""
    return dict(db.session.execute(queries.dated_statement(day)).one()._mapping)


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


def report_years() -> tuple[list[int], range]:
    """The years the statistics list (those with dossiers, and the current one, the
    latest first) and every year that opens: from the first listed to the current one,
    a year between without dossiers included (it shows zeros, as a year beside it
    compares with it)."""
    current = clock.today().year
    listed = sorted({*years_with_data(), current}, reverse=True)
    return listed, range(min(listed), max(listed) + 1)


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
