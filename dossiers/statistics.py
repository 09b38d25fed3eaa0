"""The counting rules of the yearly figures, as aggregate SQL returning plain data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, distinct, exists, func, or_, select

from .extensions import db
from .models import (
    Dossier,
    DossierKind,
    DossierPerson,
    Event,
    EventKind,
    Measure,
    Person,
    VipCategory,
)

COUNCIL_KINDS = (EventKind.EU_MINISTERIAL_COUNCIL, EventKind.NATO_MINISTERIAL)
HEADS = (VipCategory.HEAD_OF_STATE, VipCategory.HEAD_OF_GOVERNMENT)


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _has_decided_measure():
    return exists().where(Measure.dossier_id == Dossier.id, Measure.decided_at.is_not(None))


def _tp_dossiers_with_measures(year: int):
    first, last = _year_bounds(year)
    return (
        Dossier.kind == DossierKind.THREATENED_PERSON,
        Dossier.opened_on.between(first, last),
        _has_decided_measure(),
    )


def _protected_attendances(year: int):
    """Distinct (event, person) pairs of events starting in the year where the person
    has a decided measure: one for them, or one for their whole dossier."""
    first, last = _year_bounds(year)
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
            Person.category.label("category"),
        )
        .join(
            Dossier, and_(Dossier.event_id == Event.id, Dossier.kind == DossierKind.VIP_PROTECTION)
        )
        .join(DossierPerson, DossierPerson.dossier_id == Dossier.id)
        .join(Person, Person.id == DossierPerson.person_id)
        .where(Event.start_date.between(first, last), covered)
        .distinct()
        .subquery()
    )


def headline(year: int) -> dict[str, Any]:
    """The published figures of a year."""
    tp = db.session.execute(
        select(func.count(distinct(Dossier.id)), func.count(distinct(DossierPerson.person_id)))
        .select_from(Dossier)
        .outerjoin(DossierPerson, DossierPerson.dossier_id == Dossier.id)
        .where(*_tp_dossiers_with_measures(year))
    ).one()
    pairs = _protected_attendances(year)
    vip = db.session.execute(
        select(
            func.count(distinct(pairs.c.event_id)).filter(pairs.c.kind.in_(COUNCIL_KINDS)),
            func.count(distinct(pairs.c.event_id)).filter(
                pairs.c.kind == EventKind.EUROPEAN_SUMMIT
            ),
            func.count(distinct(pairs.c.event_id)).filter(pairs.c.kind == EventKind.NATO_SUMMIT),
            func.count(distinct(pairs.c.event_id)).filter(pairs.c.kind == EventKind.STATE_VISIT),
            func.count(),
            func.count().filter(pairs.c.category.in_(HEADS)),
        )
    ).one()
    return {
        "year": year,
        "threatened_persons": {"dossiers_with_measures": tp[0], "persons": tp[1]},
        "vip_protection": {
            "ministerial_councils": vip[0],
            "european_summits": vip[1],
            "nato_summits": vip[2],
            "state_visits": vip[3],
            "protected_attendances": vip[4],
            "heads_of_state_or_government": vip[5],
        },
    }


def open_on(day: dt.date) -> dict[str, int]:
    """Dossiers not closed on the day, and the distinct persons in them."""
    row = db.session.execute(
        select(func.count(distinct(Dossier.id)), func.count(distinct(DossierPerson.person_id)))
        .select_from(Dossier)
        .outerjoin(DossierPerson, DossierPerson.dossier_id == Dossier.id)
        .where(Dossier.opened_on <= day, or_(Dossier.closed_on.is_(None), Dossier.closed_on > day))
    ).one()
    return {"dossiers": row[0], "persons": row[1]}


def years_with_data() -> list[int]:
    return list(db.session.scalars(select(Dossier.year).distinct().order_by(Dossier.year.desc())))
