"""The read queries behind the officers' lists and dashboard.

Each returns a fixed number of queries whatever the number of rows it lists.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import CompoundSelect, Select, select, union

from . import names
from .extensions import db
from .keyset import Key, count
from .models import (
    Dossier,
    DossierKind,
    DossierPerson,
    DossierState,
    Measure,
    MeasureMessage,
    ThreatAssessment,
    is_review_due,
    is_unacknowledged,
    latest_assessment,
    waits_for_an_officer,
)


@dataclass(frozen=True)
class DossierFilter:
    q: str = ""
    kind: DossierKind | None = None
    state: DossierState | None = None
    year: int | None = None
    level: int | None = None  # of the current assessment
    lead_officer_id: int | None = None
    review_due_by: dt.date | None = None  # open dossiers whose review date has come


def current_levels(dossier_ids: Iterable[int]) -> dict[int, int]:
    """The level of each dossier's current assessment, for the assessed ones."""
    ids = list(set(dossier_ids))
    if not ids:
        return {}
    level = latest_assessment(ThreatAssessment.level, Dossier.id)
    rows = db.session.execute(select(Dossier.id, level).where(Dossier.id.in_(ids)))
    return {dossier_id: level for dossier_id, level in rows if level is not None}


def dossier_list(criteria: DossierFilter) -> Select[Dossier]:
    query = select(Dossier)
    if criteria.kind:
        query = query.where(Dossier.kind == criteria.kind)
    if criteria.state:
        query = query.where(Dossier.state == criteria.state)
    if criteria.year:
        query = query.where(Dossier.year == criteria.year)
    if criteria.level:
        query = query.where(latest_assessment(ThreatAssessment.level, Dossier.id) == criteria.level)
    if criteria.lead_officer_id:
        query = query.where(Dossier.lead_officer_id == criteria.lead_officer_id)
    if criteria.review_due_by:
        query = query.where(is_review_due(criteria.review_due_by))
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
        "reviews": select(Dossier.id).where(is_review_due(on)),
        "unacknowledged": select(Measure.id).where(is_unacknowledged()),
        "messages": select(MeasureMessage.id)
        .join(Measure, Measure.id == MeasureMessage.measure_id)
        .join(Dossier, Dossier.id == Measure.dossier_id)
        .where(waits_for_an_officer()),
    }
    return {name: Workload(*count(query, DASHBOARD_COUNT_CAP)) for name, query in waiting.items()}
