"""The yearly report as the page, the exports and the PDF show it: each figure with its
value the year before and its counting rule, the breakdowns with labelled groups, and
the rows behind every figure."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import figures, keyset
from .extensions import db
from .figures import FIGURES, OPEN_RULE
from .keyset import Key, Window
from .labels import label, measure_type_name
from .models import (
    AuditHead,
    Dossier,
    Event,
    EventKind,
    Measure,
    MeasureType,
    Organisation,
    Person,
    VipCategory,
)


@dataclass(frozen=True)
class FigureValue:
    key: str
    label: Any  # the figure's name, the same every year (exports, headings)
    rule: Any
    value: int
    previous: int
    counted: str = ""  # its name agreeing with the value, under the number on a tile

    @property
    def change(self) -> int:
        return self.value - self.previous


@dataclass(frozen=True)
class GroupValue:
    group: Any
    label: str
    value: int
    previous: int


@dataclass(frozen=True)
class Breakdown:
    key: str
    label: Any
    rule: Any
    groups: list[GroupValue]

    @property
    def total(self) -> int:
        return sum(g.value for g in self.groups)


@dataclass(frozen=True)
class Report:
    year: int
    figures: dict[str, FigureValue]
    breakdowns: list[Breakdown]
    open_day: dt.date
    open_values: dict[str, int]  # the dated figures on open_day, by key
    open_rule: Any = field(default=OPEN_RULE)


MEMO_SIZE = 64
_MEMO_LOCK = threading.Lock()
T = TypeVar("T")


def remembered(key: tuple, compute: Callable[[], T]) -> T:
    """A figure computed once per state of the data, then reused.

    A year's figures at a hundred times the volume take seconds to count, and they
    change only when data does. The audit head's data_version moves with every event
    that changes data, in the same transaction as the change, so a remembered value is
    never older than the data it is shown beside; every server process keeps its own.
    """
    version = db.session.scalar(select(AuditHead.data_version).where(AuditHead.id == 1)) or 0
    full = (key, version, str(get_locale()))
    memo: OrderedDict = current_app.extensions.setdefault("figures_memo", OrderedDict())
    with _MEMO_LOCK:
        if full in memo:
            memo.move_to_end(full)
            return memo[full]
    value = compute()
    with _MEMO_LOCK:
        memo[full] = value
        while len(memo) > MEMO_SIZE:
            memo.popitem(last=False)
    return value


def build_remembered(year: int, open_day: dt.date) -> Report:
    return remembered(("report", year, open_day), lambda: build(year, open_day))


def breakdown_remembered(key: str, year: int) -> Breakdown:
    return remembered(("breakdown", key, year), lambda: breakdown(key, year))


def build(year: int, open_day: dt.date) -> Report:
    """Compute the whole report: a fixed number of queries whatever the data size."""
    now, before = figures.headline_values(year), figures.headline_values(year - 1)
    shown = {
        key: FigureValue(
            key,
            FIGURES[key].label,
            FIGURES[key].rule,
            now[key],
            before[key],
            FIGURES[key].label_for(now[key]),
        )
        for key in figures.HEADLINE
    }
    breakdowns = [breakdown(key, year) for key in figures.BREAKDOWNS]
    return Report(year, shown, breakdowns, open_day, figures.open_on(open_day))


def breakdown(key: str, year: int) -> Breakdown:
    figure = FIGURES[key]
    if figure.groups is None:
        raise KeyError(f"{key} is not a breakdown")
    now = figures.breakdown_values(key, year)
    before = figures.breakdown_values(key, year - 1)
    groups = [
        GroupValue(group, label, now.get(group, 0), before.get(group, 0))
        for group, label in figure.groups(set(now) | set(before))
    ]
    if figure.largest_first:
        groups.sort(key=lambda g: (-g.value, -g.previous, g.label))
    return Breakdown(key, figure.label, figure.rule, groups)


@dataclass(frozen=True)
class Row:
    reference: str
    on: dt.date
    name: str | None = None  # only for those who may read names
    detail: str | None = None
    # What the row is about that names nobody, shown to every reader (CONTEXT_HEADERS).
    context: tuple[str, ...] = ()


# Per unit, the columns of a row's context: an attendance is one VIP at one event, so
# its line says which event, of which kind, and the VIP's category.
CONTEXT_HEADERS: dict[str, tuple[tuple[str, Any], ...]] = {
    "attendance": (
        ("event", _l("Event")),
        ("kind", _l("Kind")),
        ("category", _l("Category")),
    ),
}


def rows(
    population, unit: str, with_names: bool, *, after: str | None = None, before: str | None = None
) -> Window:
    """One page of the rows behind a figure, ordered by date; its total is the figure
    itself, counted in full. Names in one more query, if allowed."""
    table = population.subquery()
    page = keyset.window(
        select(table), _row_order(table), after=after, before=before, size=100, count_cap=None
    )
    found = [row._mapping for row in page.items]
    return replace(page, items=_with_names(unit, with_names, found))


def stream(population, unit: str, with_names: bool, batch: int = 1000) -> Iterator[Row]:
    """Every row behind a figure, a batch at a time: memory stays flat however many."""
    table = population.subquery()
    ordered = select(table).order_by(*(k.expression for k in _row_order(table)))
    result = db.session.execute(ordered.execution_options(yield_per=batch))
    try:
        for chunk in result.mappings().partitions():
            yield from _with_names(unit, with_names, chunk)
    finally:
        result.close()


def _row_order(table) -> list[Key]:
    """By date and reference, then the row's own ids, so that the order is total."""
    ids = [c for c in table.c if c.key.endswith("_id")]
    return [Key(table.c.on), Key(table.c.reference), *(Key(c) for c in ids)]


def _with_names(unit: str, with_names: bool, found) -> list[Row]:
    context = _context(unit, found)
    if not with_names:
        return [Row(r["reference"], r["on"], context=context(r)) for r in found]
    names = _names(unit, found)
    rows = []
    for r in found:
        name, detail = names(r)
        rows.append(Row(r["reference"], r["on"], name, detail, context(r)))
    return rows


def _context(unit: str, found) -> Callable[[Any], tuple[str, ...]]:
    if unit != "attendance":
        return lambda r: ()
    events = _lookup(Event.id, [Event.name], [r["event_id"] for r in found])
    return lambda r: (
        events[r["event_id"]][0],
        label(EventKind(r["kind"])),
        label(VipCategory(r["category"])),
    )


def _lookup(column_id, columns, ids) -> dict[int, tuple]:
    if not ids:
        return {}
    result = db.session.execute(select(column_id, *columns).where(column_id.in_(set(ids))))
    return {row[0]: tuple(row[1:]) for row in result}


def _names(unit: str, found):
    if unit == "dossier":
        titles = _lookup(Dossier.id, [Dossier.title], [r["dossier_id"] for r in found])
        return lambda r: (titles[r["dossier_id"]][0], None)
    if unit == "person":
        persons = _lookup(
            Person.id, [Person.name, Person.function], [r["person_id"] for r in found]
        )
        return lambda r: persons[r["person_id"]]
    if unit == "event":
        events = _lookup(Event.id, [Event.name, Event.place], [r["event_id"] for r in found])
        return lambda r: events[r["event_id"]]
    if unit == "attendance":  # the event is in the row's context already
        persons = _lookup(
            Person.id, [Person.name, Person.function], [r["person_id"] for r in found]
        )
        return lambda r: persons[r["person_id"]]
    measures = (
        {
            row[0]: (measure_type_name(row[1], row[2]), row[3])
            for row in db.session.execute(
                select(Measure.id, MeasureType.code, MeasureType.label, Organisation.name)
                .join(MeasureType, MeasureType.id == Measure.measure_type_id)
                .join(Organisation, Organisation.id == Measure.organisation_id)
                .where(Measure.id.in_({r["measure_id"] for r in found}))
            )
        }
        if found
        else {}
    )
    return lambda r: measures[r["measure_id"]]
