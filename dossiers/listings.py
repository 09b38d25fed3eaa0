"""The read queries behind the officers' lists and dashboard.

Each returns a fixed number of queries whatever the number of rows it lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import CompoundSelect, Select, func, select, union
from sqlalchemy.orm import joinedload, selectinload

from . import names
from .extensions import db
from .keyset import Key
from .models import (
    Dossier,
    DossierKind,
    DossierPerson,
    DossierState,
    Measure,
    MeasureStatus,
    ThreatAssessment,
)


@dataclass(frozen=True)
class DossierFilter:
    q: str = ""
    kind: DossierKind | None = None
    state: DossierState | None = None
    year: int | None = None


def latest_assessments() -> Select:
    """One row per dossier: its current (latest) assessment."""
    ranked = select(
        ThreatAssessment.dossier_id,
        ThreatAssessment.level,
        ThreatAssessment.review_on,
        func.row_number()
        .over(
            partition_by=ThreatAssessment.dossier_id,
            order_by=(ThreatAssessment.assessed_on.desc(), ThreatAssessment.id.desc()),
        )
        .label("rank"),
    ).subquery()
    return select(ranked.c.dossier_id, ranked.c.level, ranked.c.review_on).where(ranked.c.rank == 1)


def current_levels(dossier_ids: Iterable[int]) -> dict[int, int]:
    ids = list(set(dossier_ids))
    if not ids:
        return {}
    latest = latest_assessments().subquery()
    rows = db.session.execute(
        select(latest.c.dossier_id, latest.c.level).where(latest.c.dossier_id.in_(ids))
    )
    return {dossier_id: level for dossier_id, level in rows}


def dossier_list(criteria: DossierFilter) -> Select[Dossier]:
    query = select(Dossier).options(selectinload(Dossier.persons))
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
        if names.searchable(text):
            matches = union(
                by_reference,
                select(DossierPerson.dossier_id).where(
                    DossierPerson.person_id.in_(names.person_ids_named(text))
                ),
            )
        query = query.where(Dossier.id.in_(matches))
    return query


def reference_prefix(text: str) -> tuple:
    """References starting with the text, as a range an index can read (upper case,
    compared byte by byte: the column has the C collation on PostgreSQL)."""
    prefix = text.upper()
    following = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return Dossier.reference >= prefix, Dossier.reference < following


# Newest first; the id makes the order total for keyset pagination.
DOSSIER_ORDER = (Key(Dossier.opened_on, descending=True), Key(Dossier.id, descending=True))


def needing_action(limit: int = 50) -> list[Dossier]:
    return list(
        db.session.scalars(
            select(Dossier)
            .options(joinedload(Dossier.lead_officer))
            .where(Dossier.state.in_((DossierState.INTAKE, DossierState.ASSESSMENT)))
            .order_by(Dossier.opened_on, Dossier.id)
            .limit(limit)
        )
    )


def reviews_due(on: dt.date, limit: int = 50) -> list[tuple[Dossier, int, dt.date]]:
    latest = latest_assessments().subquery()
    rows = db.session.execute(
        select(Dossier, latest.c.level, latest.c.review_on)
        .join(latest, latest.c.dossier_id == Dossier.id)
        .where(latest.c.review_on <= on, Dossier.state != DossierState.CLOSED)
        .order_by(latest.c.review_on, Dossier.id)
        .limit(limit)
    )
    return [(d, level, review_on) for d, level, review_on in rows]


def unacknowledged_measures(limit: int = 50) -> list[Measure]:
    return list(
        db.session.scalars(
            select(Measure)
            .options(
                joinedload(Measure.dossier),
                joinedload(Measure.organisation),
                joinedload(Measure.measure_type),
            )
            .where(Measure.status == MeasureStatus.REQUESTED, Measure.decided_at.is_not(None))
            .order_by(Measure.decided_at, Measure.id)
            .limit(limit)
        )
    )
