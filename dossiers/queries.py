"""Hand-built reads: the few whose plain SQLAlchemy form costs a page noticeably.

The rule: a read is hand-built here (its statement built once per process, or plain rows
instead of objects) only when `make bench` shows it is worth more than a tenth of the
time of a page that runs it; each says what it saves. Everywhere else, reads are plain
SQLAlchemy with relationships, written where their rule lives. When a tuning here no
longer pays, move it back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Row, Select, Table, bindparam, func, insert, select, union_all, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from .extensions import db
from .models import (
    AuditEvent,
    AuditHead,
    Dossier,
    DossierPerson,
    DossierState,
    Measure,
    MeasureStatus,
    MeasureType,
    Organisation,
    Person,
    ThreatAssessment,
    User,
    UserSession,
    is_dossier_write,
    is_review_due,
    is_unacknowledged,
    latest_assessment,
)

# The audit tables: an append is three Core statements, written at once rather than at
# the next flush, so that the head row is locked from the first to the commit.
_EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]
_HEAD: Table = AuditHead.__table__  # type: ignore[assignment]

# --- The dossier page. -------------------------------------------------------------------


def dossier_by_reference(reference: str) -> Dossier | None:
    """A dossier with its event, lead officer, persons, assessments and measures.

    selectinload builds its three statements anew at every load, which cost more than
    running them: 2.0 of the dossier page's 6.1 ms in the process (bench/inprocess.py),
    about a sixth of its 12 ms over HTTP. Built once here, in each relationship's order.
    """
    by_reference, persons, assessments, measures = _dossier_statements()
    dossier = db.session.scalar(by_reference, {"reference": reference})
    if dossier is None:
        return None
    key = {"dossier_id": dossier.id}
    set_committed_value(dossier, "persons", list(db.session.scalars(persons, key)))
    set_committed_value(dossier, "assessments", list(db.session.scalars(assessments, key)))
    set_committed_value(dossier, "measures", list(db.session.scalars(measures, key).unique()))
    return dossier


@cache
def _dossier_statements() -> tuple[
    Select[Dossier], Select[Person], Select[ThreatAssessment], Select[Measure]
]:
    dossier_id: Any = bindparam("dossier_id")
    return (
        select(Dossier)
        .options(joinedload(Dossier.event), joinedload(Dossier.lead_officer))
        .where(Dossier.reference == bindparam("reference")),
        select(Person)
        .join(DossierPerson, DossierPerson.person_id == Person.id)
        .where(DossierPerson.dossier_id == dossier_id)
        .order_by(*_order_of(Dossier.persons)),
        select(ThreatAssessment)
        .where(ThreatAssessment.dossier_id == dossier_id)
        .order_by(*_order_of(Dossier.assessments)),
        select(Measure)
        .options(
            joinedload(Measure.organisation),
            joinedload(Measure.measure_type),
            joinedload(Measure.person),
        )
        .where(Measure.dossier_id == dossier_id)
        .order_by(*_order_of(Dossier.measures)),
    )


def _order_of(relationship: Any) -> tuple:
    """A relationship's own order_by, so that this load keeps it without restating it."""
    return tuple(relationship.property.order_by or ())


# --- Every signed-in request, and every read of a dossier. -------------------------------
# Built once per process. Measured by make bench on SQLite: with these four statements
# built anew at each request the dossier page served 257 req/s, against 345-356 with
# them (bench/RESULTS.md, 29/11/2026): a quarter of the page. In the process the session
# check is 0.3 ms of every page, the history 0.6 and the append 0.1 ms of the dossier's.


@cache
def live_session() -> Select[User, int, dt.datetime]:
    """The user of a live session (with their organisation), the session's id and when it
    was last used; parameters token_hash, now and idle_since."""
    return (
        select(User, UserSession.id, UserSession.last_seen_at)
        .join(UserSession, UserSession.user_id == User.id)
        .options(joinedload(User.organisation))
        .where(
            UserSession.token_hash == bindparam("token_hash"),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > bindparam("now"),
            UserSession.last_seen_at > bindparam("idle_since"),
        )
    )


@cache
def claim_next_event() -> Any:
    """Take the next sequence number and the hash it follows (the head row stays locked
    until commit)."""
    return (
        update(_HEAD)
        .where(_HEAD.c.id == 1)
        .values(last_sequence=_HEAD.c.last_sequence + 1)
        .returning(_HEAD.c.last_sequence, _HEAD.c.last_hash)
    )


@cache
def append_event() -> tuple[Any, Any]:
    """The event's insert and the head's update, their values given at execution."""
    return insert(_EVENTS), update(_HEAD).where(_HEAD.c.id == 1)


@cache
def dossier_writes() -> Any:
    """A dossier's history as plain rows (when, action, detail, actor's name), newest
    first, from the partial index of writes; parameter dossier_id."""
    return (
        select(AuditEvent.at, AuditEvent.action, AuditEvent.detail, User.full_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.dossier_id == bindparam("dossier_id"), is_dossier_write())
        .order_by(AuditEvent.at.desc(), AuditEvent.sequence.desc())
    )


# --- The yearly figures. -----------------------------------------------------------------
# Built once per year (or day) and process: building a year's statements cost about as
# much Python as its SQL took (report built / SQL alone 1.9x -> 1.1x at F=1 on SQLite,
# bench/RESULTS.md). A statement, once built, is immutable and holds its bounds as values.
STATEMENTS_KEPT = 256


def _count(population: Select) -> Any:
    return select(func.count()).select_from(population.subquery()).scalar_subquery()


@lru_cache(maxsize=STATEMENTS_KEPT)
def headline_statement(year: int) -> Select:
    from .figures import FIGURES, HEADLINE

    return select(*(_count(FIGURES[k].population(year)).label(k) for k in HEADLINE))


@lru_cache(maxsize=STATEMENTS_KEPT)
def breakdown_statement(key: str, year: int) -> Select:
    from .figures import FIGURES

    grouped = FIGURES[key].population(year).subquery()
    return select(grouped.c.group, func.count()).group_by(grouped.c.group)


@lru_cache(maxsize=STATEMENTS_KEPT)
def dated_statement(day: dt.date) -> Select:
    from .figures import DATED, FIGURES

    return select(*(_count(FIGURES[k].population(day)).label(k) for k in DATED))


# --- Lists as plain rows of what they show. ----------------------------------------------
# At 25 rows a list, objects with their related objects cost more than the queries that
# read them (issue 7's measurements; bench/RESULTS.md): these lists read columns.


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


def needing_action(limit: int) -> list[Row]:
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


def reviews_due(on: dt.date, limit: int) -> list[tuple[str, int | None, dt.date]]:
    """Dossiers not closed whose current assessment asks for a review by `on`, the most
    overdue first: reference, current level, review date.

    Read in order from the open dossiers' index on their current review date (kept on
    the dossier), so that the cost follows the limit, not the number of open dossiers."""
    level = latest_assessment(ThreatAssessment.level, Dossier.id)
    return [
        (reference, level, review_on)
        for reference, level, review_on in db.session.execute(
            select(Dossier.reference, level, Dossier.review_on)
            .where(is_review_due(on))
            .order_by(Dossier.review_on, Dossier.id)
            .limit(limit)
        )
    ]


def unacknowledged_measures(limit: int) -> list[Row]:
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
            .where(is_unacknowledged())
            .order_by(Measure.decided_at, Measure.id)
            .limit(limit)
        )
    )


def partner_measure_rows() -> Select[
    int, int, MeasureStatus, dt.date, dt.date | None, str, str, str, str | None, int | None
]:
    """A partner's measures as plain rows of what its list shows (the caller scopes them to
    the partner): a page of objects with three related objects each cost more than the
    rest of the page."""
    return (
        select(
            Measure.id,
            Measure.dossier_id,
            Measure.status,
            Measure.start_date,
            Measure.end_date,
            Dossier.reference,
            MeasureType.code.label("type_code"),
            MeasureType.label.label("type_label"),
            Person.name.label("person_name"),
            _current_level(),
        )
        .join(Dossier, Dossier.id == Measure.dossier_id)
        .join(MeasureType, MeasureType.id == Measure.measure_type_id)
        .outerjoin(Person, Person.id == Measure.person_id)
    )


def _current_level() -> Any:
    """The level of the measure's dossier's current assessment, read with the row: a
    second query per page cost a round trip to the database."""
    return latest_assessment(ThreatAssessment.level, Measure.dossier_id).label("level")
