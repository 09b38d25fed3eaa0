"""Mails the sender makes by itself, on the centre's clock: the reminder to a service of a
measure it has not acknowledged, and the officers' daily digest.

`schedule()` starts each round of `flask notify`, before `send_due`. Each mail it makes
has a unique dedupe_key: made once whoever makes it and however often it runs; of two
senders making one at the same moment, one gives way (`notifications.queue`).

A reminder: a decided measure still not acknowledged NOTIFY_REMINDER_HOURS after it was
put to its service (`models.put_to_service_at`: decided, or corrected and put back to
it), and at most REMINDER_WINDOW_DAYS after, gets one, to its service's mailbox, keyed
by the measure and that moment: a correction that puts it to its service again earns a
new one. None while the service has a message about it that no officer has dealt with
yet: it has answered.

A digest: once the centre's clock has passed DIGEST_HOUR on a day, that day's digests are
made in one transaction with the audit event "mail.digests" that says so (also on a day
when nobody had anything waiting): the later rounds of that day find it and make
nothing. On PostgreSQL an advisory lock held to that commit makes a second sender wait,
then find it. Each active officer gets the work waiting in the dossiers they lead; the
duty mailbox gets the dossiers nobody leads or whose lead is no active officer. An empty
digest is not made. The row keeps only dossier references, days and counts (`details`);
the mail's lists are written from them when it is sent, in its language.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import ngettext
from sqlalchemy import func, select

from . import audit, notifications
from .clock import date_of, day, local, now_utc, start_of
from .extensions import db
from .labels import unit_noun
from .models import (
    AuditEvent,
    Dossier,
    Measure,
    MeasureMessage,
    Notification,
    Organisation,
    User,
    is_current_measure,
    is_open_dossier,
    is_open_message,
    is_review_due,
    is_unacknowledged,
    put_to_service_at,
    waits_for_an_officer,
)

# Threat reviews due and measures ending within this many days are in the digest.
DIGEST_DAYS = 7
# Reminders are made for requests at most this old.
REMINDER_WINDOW_DAYS = 7
# Dossiers named per section of a digest; the others are counted.
LISTED = 20
# The PostgreSQL advisory lock under which a day's digests are made (any fixed number).
DIGEST_LOCK = 170_017
DASHBOARD = "/dashboard/"


@dataclass(frozen=True)
class Made:
    reminders: int
    digests: int


def schedule() -> Made:
    """Make the reminders that are due, then today's digests if their hour has come; each
    committed. Return how many of each were made."""
    reminders = make_reminders()
    db.session.commit()
    digests = make_digests()
    db.session.commit()
    return Made(reminders, digests)


# --- Reminders ---------------------------------------------------------------------------


def make_reminders() -> int:
    """Queue every reminder that is due and not made yet; return how many were made."""
    cutoff = now_utc() - dt.timedelta(hours=current_app.config["NOTIFY_REMINDER_HOURS"])
    # A request older than this gets no reminder any more (a sender started on a backlog,
    # or down for a week): the lead officers' digest lists it every day instead.
    too_old = now_utc() - dt.timedelta(days=REMINDER_WINDOW_DAYS)
    asked = put_to_service_at()
    answered = select(MeasureMessage.id).where(
        MeasureMessage.measure_id == Measure.id,
        MeasureMessage.organisation_id == Measure.organisation_id,
        is_open_message(),
    )
    due = db.session.execute(
        select(
            Measure.id,
            asked.label("asked"),
            Dossier.reference,
            Organisation.id.label("organisation_id"),
            Organisation.mailbox,
            Organisation.language,
        )
        .join(Dossier, Dossier.id == Measure.dossier_id)
        .join(Organisation, Organisation.id == Measure.organisation_id)
        .where(
            is_unacknowledged(),
            Measure.decided_at <= cutoff,  # the index's range; `asked` is never earlier
            asked <= cutoff,
            asked > too_old,
            Organisation.mailbox != "",
            ~answered.exists(),
        )
        .order_by(Measure.id)
    ).all()
    keys = {row.id: f"measure.reminder:{row.id}:{row.asked:%Y%m%dT%H%M%S%f}" for row in due}
    made_before = _existing(keys.values())
    made = 0
    for row in due:
        if keys[row.id] in made_before:
            continue
        queued = notifications.queue(
            "measure.reminder",
            address=row.mailbox,
            language=row.language,
            reference=row.reference,
            link=f"/measures/{row.id}",
            organisation_id=row.organisation_id,
            dedupe_key=keys[row.id],
        )
        made += queued is not None
    return made


def _existing(keys: Iterable[str]) -> set[str]:
    """Which of these dedupe keys a mail has already: asked by key (the unique index)
    rather than inserted and refused one by one at every round."""
    wanted: list[str] = list(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            key
            for key in db.session.scalars(
                select(Notification.dedupe_key).where(Notification.dedupe_key.in_(chunk))
            )
            if key is not None
        )
    return found


# --- The daily digest ----------------------------------------------------------------------


def make_digests() -> int:
    """Make today's digests if the digest hour has passed and they are not made yet;
    return how many were made."""
    now = local(now_utc())
    if now.hour < current_app.config["DIGEST_HOUR"]:
        return 0
    today = now.date()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(DIGEST_LOCK)))
    if _made_on(today):
        return 0
    officers = {user.id: user for user in db.session.scalars(notifications.mailed_officers())}
    waiting = _waiting(today, officers)
    reference = day(today)
    made = 0
    for officer_id, work in waiting.items():
        if officer_id is not None:
            queued = notifications.queue_for_user(
                officers[officer_id],
                "digest.officer",
                details=_details(work),
                dedupe_key=f"digest:{officer_id}:{today.isoformat()}",
                reference=reference,
                link=DASHBOARD,
            )
            made += queued is not None
    if None in waiting:
        queued = notifications.queue_for_duty(
            "digest.duty",
            details=_details(waiting[None]),
            dedupe_key=f"digest:duty:{today.isoformat()}",
            reference=reference,
            link=DASHBOARD,
        )
        made += queued is not None
    audit.record(
        "mail.digests",
        actor=None,
        object_type="notification",
        object_id=None,
        day=today.isoformat(),
        made=made,
    )
    return made


def _made_on(today: dt.date) -> bool:
    """Whether the day's digests were made: only that day can make them."""
    return (
        db.session.scalar(
            select(AuditEvent.id)
            .where(AuditEvent.action == "mail.digests", AuditEvent.at >= start_of(today))
            .limit(1)
        )
        is not None
    )


# What waits for each reader: {section: {reference: [how many, its first day]}}, the
# most urgent dossier first.
Work = dict[str, dict[str, list[Any]]]


def _waiting(today: dt.date, officers: dict[int, User]) -> dict[int | None, Work]:
    """The work in open dossiers, by the active officer who leads each (None: nobody
    does)."""
    found: dict[int | None, Work] = {}
    for section, rows in _sections(today):
        for lead_id, reference, on in rows:
            reader = lead_id if lead_id in officers else None
            entry = found.setdefault(reader, {}).setdefault(section, {})
            entry.setdefault(reference, [0, on])[0] += 1
    return found


def _sections(today: dt.date) -> Iterator[tuple[str, Iterable[Any]]]:
    """Each section's rows: lead officer, dossier reference, the day that makes it urgent;
    the most urgent first. The rules are the dashboard's (models)."""
    until = today + dt.timedelta(days=DIGEST_DAYS)
    lead, reference = Dossier.lead_officer_id, Dossier.reference
    reviews = db.session.execute(
        select(lead, reference, Dossier.review_on)
        .where(is_review_due(until))
        .order_by(Dossier.review_on, Dossier.id)
    ).all()
    yield "reviews_overdue", [row for row in reviews if row.review_on < today]
    yield "reviews_due", [row for row in reviews if row.review_on >= today]
    yield (
        "measures_ending",
        db.session.execute(
            select(lead, reference, Measure.end_date)
            .join(Dossier, Dossier.id == Measure.dossier_id)
            .where(
                is_open_dossier(),
                is_current_measure(),
                Measure.end_date >= today,
                Measure.end_date <= until,
            )
            .order_by(Measure.end_date, Measure.id)
        ),
    )
    asked = put_to_service_at()
    unacknowledged = db.session.execute(
        select(lead, reference, asked)
        .join(Dossier, Dossier.id == Measure.dossier_id)
        .where(is_open_dossier(), is_unacknowledged())
        .order_by(asked, Measure.id)
    )
    yield "unacknowledged", ((a, b, date_of(at)) for a, b, at in unacknowledged)
    messages = db.session.execute(
        select(lead, reference, MeasureMessage.created_at)
        .join(Measure, Measure.id == MeasureMessage.measure_id)
        .join(Dossier, Dossier.id == Measure.dossier_id)
        .where(waits_for_an_officer())
        .order_by(MeasureMessage.created_at, MeasureMessage.id)
    )
    yield "messages", ((a, b, date_of(at)) for a, b, at in messages)


def _details(work: Work) -> str:
    """A digest's content as its row keeps it: per section, how many, the first LISTED
    dossiers (reference, how many, day) and how many more. References, days and counts
    only: never a name, never what a measure is."""
    return json.dumps(
        {
            section: {
                "total": sum(count for count, _ in dossiers.values()),
                "dossiers": [
                    [reference, count, on.isoformat()]
                    for reference, (count, on) in list(dossiers.items())[:LISTED]
                ],
                "more": max(len(dossiers) - LISTED, 0),
            }
            for section, dossiers in work.items()
        },
        sort_keys=True,
    )


# --- Writing a digest, in the mail's language -----------------------------------------------

# Each section's heading (its count) and what several of its items in one dossier are.
SECTIONS: dict[str, tuple[Callable[[int], str], Callable[[int], str] | None]] = {
    "reviews_overdue": (
        lambda n: ngettext("%(num)d threat review overdue:", "%(num)d threat reviews overdue:", n),
        None,
    ),
    "reviews_due": (
        lambda n: ngettext(
            "%(num)d threat review due within %(days)d days:",
            "%(num)d threat reviews due within %(days)d days:",
            n,
            days=DIGEST_DAYS,
        ),
        None,
    ),
    "measures_ending": (
        lambda n: ngettext(
            "%(num)d measure ending within %(days)d days:",
            "%(num)d measures ending within %(days)d days:",
            n,
            days=DIGEST_DAYS,
        ),
        lambda n: f"{n} {unit_noun('measure', n)}",
    ),
    "unacknowledged": (
        lambda n: ngettext(
            "%(num)d decided measure not acknowledged by its service yet:",
            "%(num)d decided measures not acknowledged by their services yet:",
            n,
        ),
        lambda n: f"{n} {unit_noun('measure', n)}",
    ),
    "messages": (
        lambda n: ngettext(
            "%(num)d message from a service not dealt with yet:",
            "%(num)d messages from services not dealt with yet:",
            n,
        ),
        lambda n: ngettext("%(num)d message", "%(num)d messages", n),
    ),
}


def digest_lines(row: Notification) -> list[str]:
    """A digest's sections, one paragraph each, in the current language (the sender has
    set the mail's)."""
    details = json.loads(row.details or "{}")
    paragraphs = []
    for section, (heading, several) in SECTIONS.items():
        part = details.get(section)
        if not part:
            continue
        lines = [heading(part["total"])]
        for reference, count, on in part["dossiers"]:
            item = f"- {reference} – {day(dt.date.fromisoformat(on))}"
            if several and count > 1:
                item += f" ({several(count)})"
            lines.append(item)
        if part["more"]:
            lines.append(
                ngettext("and %(num)d more dossier", "and %(num)d more dossiers", part["more"])
            )
        paragraphs.append("\n".join(lines))
    return paragraphs
