"""Retention: a closed dossier's personal data goes when its time is up; the figures, the
audit trail and the distinctness of persons stay.

The rule, written once, in Python (`due_on`, for the dossier page) and in SQL beside it
(`is_due`, for the run): a threatened-person dossier is kept RETENTION_TP_YEARS after its
closing date; a VIP protection dossier RETENTION_VIP_YEARS after its event's end, or its
closing date when that is later or it has no event. An open dossier is never due; a
dossier under legal hold is kept whatever the rule. Dates are the centre's (Brussels).

`run` removes, batch by batch, each batch in its own transaction and audited in it
(purge.py says what it clears and what it keeps), then sweeps the persons nothing needs
any more. It is safe to run again and on a schedule: a purged dossier is marked
(`purged_at`) and never taken again, and a second run changes nothing; on PostgreSQL a
second run while one is going does nothing and says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, func, select

from . import audit, purge
from .casework import require_not_purged
from .clock import date_of, now_utc, today
from .extensions import db
from .inputs import has_control_characters
from .models import Dossier, DossierKind, DossierNote, DossierState, Event, User
from .refusals import Refused

BATCH = 500  # dossiers per transaction: a run holds no lock for long, and resumes


# --- The rule: when a dossier's personal data is due to go. --------------------------


# The shortest retention period the configuration may set: a period is counted in
# whole years, and a 0 (or a sign typed by mistake) would purge every closed dossier at
# the next run. The centre's own rules set the real periods; this only catches a typo.
MIN_YEARS = 1
# The longest: a hundred years outlives anyone a dossier names ("keep for ever" is a legal
# hold); more would only carry the day's arithmetic past the calendar's last year.
MAX_YEARS = 100


def check_settings(config: Any) -> None:
    """Refuse to start unless both retention periods are whole numbers of years from
    MIN_YEARS to MAX_YEARS; keep them as numbers."""
    for name in ("RETENTION_TP_YEARS", "RETENTION_VIP_YEARS"):
        value = config.get(name)
        text = str(value).strip()
        if (
            isinstance(value, bool)
            or not (text.isascii() and text.isdecimal())
            or not MIN_YEARS <= int(text) <= MAX_YEARS
        ):
            raise RuntimeError(
                f"{name} must be a whole number of years from {MIN_YEARS} to {MAX_YEARS}, "
                f"not {value!r}: a retention run removes the personal data of every dossier "
                "closed longer ago"
            )
        config[name] = int(text)


def years_kept(kind: DossierKind) -> int:
    if kind is DossierKind.THREATENED_PERSON:
        return int(current_app.config["RETENTION_TP_YEARS"])
    return int(current_app.config["RETENTION_VIP_YEARS"])


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day `years` later; 29 February becomes 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


def latest_start(on: dt.date, years: int) -> dt.date:
    """The latest start from which `years` have run by `on`: a start is due on `on`
    exactly when add_years(start, years) <= on, which is start <= latest_start(on, years)
    (29 February becomes 28 February in a common year)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return dt.date(on.year - years, 2, 28)


def starts_on(dossier: Dossier) -> dt.date | None:
    """The day the dossier's retention period starts; None while it is open."""
    if dossier.state is not DossierState.CLOSED or dossier.closed_on is None:
        return None
    if dossier.is_vip and dossier.event is not None:
        return max(dossier.closed_on, dossier.event.end_date)
    return dossier.closed_on


def due_on(dossier: Dossier) -> dt.date | None:
    """The day the dossier's personal data is due to go; None while it is open."""
    start = starts_on(dossier)
    return None if start is None else add_years(start, years_kept(dossier.kind))


def starts_on_sql() -> ColumnElement:
    """starts_on, in SQL (NULL while open)."""
    event_end = select(Event.end_date).where(Event.id == Dossier.event_id).scalar_subquery()
    return case(
        (Dossier.state != DossierState.CLOSED, None),
        (
            and_(Dossier.kind == DossierKind.VIP_PROTECTION, event_end > Dossier.closed_on),
            event_end,
        ),
        else_=Dossier.closed_on,
    )


def is_due(on: dt.date) -> ColumnElement[bool]:
    """due_on(dossier) <= on, in SQL: the dossiers whose time is up on the day."""
    # One comparison with the latest start of the dossier's kind, not one condition per
    # kind joined by OR: SQLite would answer that OR through the kind index, and a run's
    # batch (the next dossiers by id) would read and sort every dossier each time.
    latest = case(
        *((Dossier.kind == kind, latest_start(on, years_kept(kind))) for kind in DossierKind)
    )
    return starts_on_sql() <= latest


def purgeable(on: dt.date) -> ColumnElement[bool]:
    """Due on the day, not under legal hold, not purged yet."""
    return and_(is_due(on), Dossier.legal_hold_at.is_(None), Dossier.purged_at.is_(None))


@dataclass(frozen=True)
class Standing:
    """What the dossier page says about its personal data."""

    due_on: dt.date | None  # None: kept while the dossier is open
    purged_on: dt.date | None
    held: bool

    @property
    def overdue(self) -> bool:
        return self.due_on is not None and self.due_on <= today() and not self.held


def standing(dossier: Dossier) -> Standing:
    return Standing(
        due_on=due_on(dossier),
        purged_on=date_of(dossier.purged_at) if dossier.purged_at else None,
        held=dossier.legal_hold_at is not None,
    )


# --- Legal hold. ---------------------------------------------------------------------


def _reason(text: str, missing: Any) -> str:
    reason = text.strip()
    if not reason:
        raise Refused(missing, "reason")
    if has_control_characters(reason):
        raise Refused(_l("The text holds a control character; type it again."), "reason")
    return reason


def _note(dossier: Dossier, reason: str, actor: User) -> DossierNote:
    """The reason's words are kept in the dossier, as a note of its timeline: the audit
    event names the note, never its words."""
    note = DossierNote(dossier_id=dossier.id, author_id=actor.id, body=reason)
    db.session.add(note)
    db.session.flush()
    return note


def place_hold(dossier: Dossier, text: str, actor: User) -> None:
    """Keep the dossier's personal data whatever the retention rules, for the reason given."""
    require_not_purged(dossier)
    if dossier.legal_hold_at is not None:
        raise Refused(_l("This dossier is under legal hold already."))
    reason = _reason(text, _l("Give the reason for the legal hold."))
    dossier.legal_hold_reason = reason
    dossier.legal_hold_at = now_utc()
    dossier.legal_hold_by_id = actor.id
    note = _note(dossier, reason, actor)
    audit.record(
        "dossier.legal_hold",
        actor=actor,
        object_type="dossier",
        object_id=dossier.id,
        dossier=dossier,
        note_id=note.id,
    )


def lift_hold(dossier: Dossier, text: str, actor: User) -> None:
    """End the legal hold: the retention rules apply again."""
    require_not_purged(dossier)
    if dossier.legal_hold_at is None:
        raise Refused(_l("This dossier is not under legal hold."))
    reason = _reason(text, _l("Give the reason for lifting the legal hold."))
    dossier.legal_hold_reason = ""
    dossier.legal_hold_at = None
    dossier.legal_hold_by_id = None
    note = _note(dossier, reason, actor)
    audit.record(
        "dossier.legal_hold_lifted",
        actor=actor,
        object_type="dossier",
        object_id=dossier.id,
        dossier=dossier,
        note_id=note.id,
    )


# --- The run. ------------------------------------------------------------------------


def due_counts(on: dt.date) -> dict[tuple[DossierKind, bool], int]:
    """How many dossiers not yet purged are due on the day, per kind and whether they
    are under legal hold."""
    held = Dossier.legal_hold_at.is_not(None)
    rows = db.session.execute(
        select(Dossier.kind, held, func.count())
        .where(is_due(on), Dossier.purged_at.is_(None))
        .group_by(Dossier.kind, held)
    )
    return {(kind, bool(on_hold)): count for kind, on_hold, count in rows}


def due_references(on: dt.date) -> Iterator[tuple[str, DossierKind, bool]]:
    """Each dossier not yet purged that is due on the day: its reference, kind and
    whether it is under legal hold; those held last, streamed in reference order."""
    held = Dossier.legal_hold_at.is_not(None)
    result = db.session.execute(
        select(Dossier.reference, Dossier.kind, held)
        .where(is_due(on), Dossier.purged_at.is_(None))
        .order_by(held, Dossier.kind, Dossier.reference)
        .execution_options(yield_per=2000)
    )
    try:
        for reference, kind, on_hold in result:
            yield reference, kind, bool(on_hold)
    finally:
        result.close()


def listing(on: dt.date, per_line: int = 8) -> Iterator[str]:
    """What is due on the day, as the command prints it: counts per kind, then the
    references (dossier references name nobody)."""
    counts = due_counts(on)
    held = sum(n for (_, on_hold), n in counts.items() if on_hold)
    tp, vip = DossierKind.THREATENED_PERSON, DossierKind.VIP_PROTECTION
    yield f"Due on {on:%d/%m/%Y}:"
    yield (
        f"  threatened-person dossiers: {counts.get((tp, False), 0)} "
        f"(kept {years_kept(tp)} years after closing)"
    )
    yield (
        f"  VIP protection dossiers: {counts.get((vip, False), 0)} "
        f"(kept {years_kept(vip)} years after the event, or after closing if later)"
    )
    yield f"  under legal hold, kept: {held}"
    headings = {
        (tp, False): "Threatened persons:",
        (vip, False): "VIP protection:",
        (tp, True): "Kept under legal hold:",
        (vip, True): "Kept under legal hold:",
    }
    heading, line = "", list[str]()
    for reference, kind, on_hold in due_references(on):
        title = headings[(kind, on_hold)]
        if title != heading or len(line) == per_line:
            if line:
                yield "  " + " ".join(line)
            line = []
        if title != heading:
            heading = title
            yield heading
        line.append(reference)
    if line:
        yield "  " + " ".join(line)


class AnotherRun(Exception):
    """Another retention run is going (PostgreSQL): this one did nothing."""


class OldPagesKept(Exception):
    """The run removed what was due (its counts), but SQLite's write-ahead log could not
    be emptied: its old pages still hold some of it until a later checkpoint."""

    def __init__(self, counts: purge.Counts) -> None:
        super().__init__("the write-ahead log still holds old pages")
        self.counts = counts


# The run's lock on PostgreSQL (pg_advisory_lock's key): "RETENT" in ASCII.
RUN_LOCK = 0x52_45_54_45_4E_54


@contextmanager
def only_run() -> Iterator[None]:
    """Hold the run lock for the whole run, or raise AnotherRun at once: two overlapping
    runs would each take the other's dossiers as kept, and leave a person they share
    named. Held by a connection of its own (the batches commit and give theirs back),
    and released by PostgreSQL if the process dies. SQLite needs none: its batches are
    written one at a time, each deciding under the database's one write lock."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    with db.engine.connect() as connection:
        taken = connection.scalar(select(func.pg_try_advisory_lock(RUN_LOCK)))
        connection.commit()  # the lock outlives the transaction; the connection holds it
        if not taken:
            raise AnotherRun()
        try:
            yield
        finally:
            connection.scalar(select(func.pg_advisory_unlock(RUN_LOCK)))
            connection.commit()


def _audited(counts: purge.Counts) -> None:
    """Record a run's committed work in the audit trail, in its transaction: counts only."""
    audit.record(
        "retention.run",
        actor=None,
        object_type="retention",
        object_id=None,
        dossiers=counts.dossiers,
        persons=counts.persons,
        documents=counts.documents,
        texts=counts.texts,
    )


def run(
    on: dt.date, batch: int = BATCH, progress: Callable[[int], None] = lambda n: None
) -> purge.Counts:
    """Remove the personal data of every dossier purgeable on the day, a batch per
    transaction (`progress` hears of each batch's size), then sweep the persons nothing
    needs any more (purge.sweep). Each transaction that removed something records its
    counts in the audit trail (a run that stops half-way leaves every committed batch
    audited); a run that removed nothing records one event with zeros, the evidence that
    the schedule ran. Raises AnotherRun, having done nothing, while another run is going;
    OldPagesKept, having done everything else, when SQLite's log could not be emptied."""
    done = purge.Counts()
    with only_run():
        last = 0
        while True:
            ids = list(
                db.session.scalars(
                    select(Dossier.id)
                    .where(Dossier.id > last, purgeable(on))
                    .order_by(Dossier.id)
                    .limit(batch)
                )
            )
            if not ids:
                break
            counts = purge.batch(ids, lambda: purgeable(on))
            if counts:
                _audited(counts)
            db.session.commit()
            done += counts
            last = ids[-1]
            progress(len(ids))
        swept = purge.Counts(persons=purge.sweep())
        if swept or not done:
            _audited(swept)
        db.session.commit()
        done += swept
    # Also after a run that removed nothing: the log may still hold an earlier run's.
    if not purge.forget_old_pages():
        raise OldPagesKept(done)
    return done
