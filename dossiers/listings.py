"""The read queries behind the officers' lists and dashboard.

Each returns a fixed number of queries whatever the number of rows it lists.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import CompoundSelect, Row, Select, func, select, union, union_all

from . import names
from .extensions import db
from .keyset import Key, count
from .models import (
    Dossier,
    DossierKind,
    DossierPerson,
    DossierState,
    Measure,
    MeasureStatus,
    MeasureType,
    Organisation,
    Person,
    ThreatAssessment,
    is_open_dossier,
    latest_assessment,
)


@dataclass(frozen=True)
class DossierFilter:
    q: str = ""
    kind: DossierKind | None = None
    state: DossierState | None = None
    year: int | None = None


def current_levels(dossier_ids: Iterable[int]) -> dict[int, int]:
    """The level of each dossier's current assessment, for the assessed ones."""
    ids = list(set(dossier_ids))
    if not ids:
        return {}
    level = latest_assessment(ThreatAssessment.level, Dossier.id)
    rows = db.session.execute(select(Dossier.id, level).where(Dossier.id.in_(ids)))
    return {dossier_id: level for dossier_id, level in rows if level is not None}


PREVIEW = 3  # persons named per dossier in a list


def persons_preview(dossier_ids: Iterable[int]) -> dict[int, tuple[list[str], int]]:
    """Each dossier's first persons by name, and how many it has, in one query.

    Ranked in the database, so that a summit dossier's forty delegates cost three rows
    here, not forty objects per line of the list."""
    ids = list(set(dossier_ids))
    if not ids:
        return {}
    # Each name read by its key, row by row: joined, PostgreSQL expected a summit's worth
    # of persons per dossier and hashed the whole person table (30 ms at F=100).
    name = (
        select(Person.name)
        .where(Person.id == DossierPerson.person_id)
        .correlate(DossierPerson)
        .scalar_subquery()
    )
    members = (
        select(DossierPerson.dossier_id, DossierPerson.person_id, name.label("name"))
        .where(DossierPerson.dossier_id.in_(ids))
        .subquery()
    )
    ranked = select(
        members.c.dossier_id,
        members.c.name,
        func.row_number()
        .over(partition_by=members.c.dossier_id, order_by=(members.c.name, members.c.person_id))
        .label("rank"),
        func.count().over(partition_by=members.c.dossier_id).label("total"),
    ).subquery()
    previews: dict[int, tuple[list[str], int]] = {}
    for dossier_id, name, total in db.session.execute(
        select(ranked.c.dossier_id, ranked.c.name, ranked.c.total)
        .where(ranked.c.rank <= PREVIEW)
        .order_by(ranked.c.dossier_id, ranked.c.rank)
    ):
        previews.setdefault(dossier_id, ([], total))[0].append(name)
    return previews


def dossier_list(criteria: DossierFilter) -> Select[Dossier]:
    query = select(Dossier)
    if criteria.kind:
        query = query.where(Dossier.kind == criteria.kind)
    if criteria.state:
        query = query.where(Dossier.state == criteria.state)
    if criteria.year:
        query = query.where(Dossier.year == criteria.year)
    text = criteria.q.strip()
    if text:
        # One set of ids from two indexes (reference, name), so that the dossier table is
        # read by id rather than scanned with an OR.
        by_reference = select(Dossier.id).where(*reference_prefix(text))
        matches: Select | CompoundSelect = by_reference
        if names.searchable(text) and not REFERENCE_LIKE.match(text):
            matches = union(
                by_reference,
                select(DossierPerson.dossier_id).where(
                    DossierPerson.person_id.in_(names.persons_named(text, SEARCH_CAP))
                ),
            )
        # Read the matches first: given a subquery, PostgreSQL may walk every dossier
        # newest first looking for them, which for a name matching nobody is all of them.
        first = list(db.session.scalars(select(matches.subquery().c[0]).limit(SEARCH_CAP + 1)))
        query = query.where(Dossier.id.in_(first if len(first) <= SEARCH_CAP else matches))
    return query


SEARCH_CAP = 1000  # more matches than this: a broad search, found early in date order


# The start of a reference ("TP-2023", "vip-2024-00"): nobody's name, no name search.
REFERENCE_LIKE = re.compile(r"^(TP|VIP)-\d", re.IGNORECASE)


def reference_prefix(text: str) -> tuple:
    """References starting with the text, as a range an index can read (upper case,
    compared byte by byte: the column has the C collation on PostgreSQL)."""
    prefix = text.upper()
    following = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return Dossier.reference >= prefix, Dossier.reference < following


# Newest first; the id makes the order total for keyset pagination.
DOSSIER_ORDER = (Key(Dossier.opened_on, descending=True), Key(Dossier.id, descending=True))


# The dashboard shows the most urgent of each kind of work, and counts all of it.
DASHBOARD_ROWS = 25
DASHBOARD_COUNT_CAP = 1000


@dataclass(frozen=True)
class Workload:
    count: int
    capped: bool  # more than `count`


def workload(on: dt.date) -> dict[str, Workload]:
    """How much work of each kind waits, each counted in an index range, up to a cap."""
    waiting = {
        "action": select(Dossier.id).where(
            Dossier.state.in_([DossierState.INTAKE, DossierState.ASSESSMENT])
        ),
        "reviews": select(Dossier.id).where(is_open_dossier(), Dossier.review_on <= on),
        "unacknowledged": select(Measure.id).where(
            Measure.status == MeasureStatus.REQUESTED, Measure.decided_at.is_not(None)
        ),
    }
    return {name: Workload(*count(query, DASHBOARD_COUNT_CAP)) for name, query in waiting.items()}


# The dashboard's lists are plain rows of what they show: objects, with their related
# objects, cost more than the queries at 25 rows a list.


def needing_action(limit: int = DASHBOARD_ROWS) -> list[Row]:
    """The oldest dossiers at intake or in assessment.

    The first `limit` of each state, read in order from the (state, opened_on) index,
    then merged: with both states in one IN, SQLite walks the whole history in date
    order looking for them."""
    firsts = [
        select(Dossier.id)
        .where(Dossier.state == state)
        .order_by(Dossier.opened_on, Dossier.id)
        .limit(limit)
        .subquery()
        for state in (DossierState.INTAKE, DossierState.ASSESSMENT)
    ]
    candidates = union_all(*(select(first.c.id) for first in firsts))
    return list(
        db.session.execute(
            select(Dossier.reference, Dossier.title, Dossier.state, Dossier.opened_on)
            .where(Dossier.id.in_(candidates))
            .order_by(Dossier.opened_on, Dossier.id)
            .limit(limit)
        )
    )


def reviews_due(on: dt.date, limit: int = DASHBOARD_ROWS) -> list[tuple[str, int | None, dt.date]]:
    """Dossiers not closed whose current assessment asks for a review by `on`, the most
    overdue first: reference, current level, review date.

    Read in order from the open dossiers' index on their current review date (kept on
    the dossier), so that the cost follows the limit, not the number of open dossiers."""
    due = list(
        db.session.execute(
            select(Dossier.id, Dossier.reference, Dossier.review_on)
            .where(is_open_dossier(), Dossier.review_on <= on)
            .order_by(Dossier.review_on, Dossier.id)
            .limit(limit)
        )
    )
    levels = current_levels(d.id for d in due)
    return [(d.reference, levels.get(d.id), d.review_on) for d in due if d.review_on is not None]


def unacknowledged_measures(limit: int = DASHBOARD_ROWS) -> list[Row]:
    """Decided measures no partner has acknowledged yet, the longest waiting first."""
    return list(
        db.session.execute(
            select(
                Dossier.reference,
                MeasureType.code.label("type_code"),
                MeasureType.label.label("type_label"),
                Organisation.name.label("organisation"),
                Measure.decided_at,
            )
            .join(Dossier, Dossier.id == Measure.dossier_id)
            .join(MeasureType, MeasureType.id == Measure.measure_type_id)
            .join(Organisation, Organisation.id == Measure.organisation_id)
            .where(Measure.status == MeasureStatus.REQUESTED, Measure.decided_at.is_not(None))
            .order_by(Measure.decided_at, Measure.id)
            .limit(limit)
        )
    )
