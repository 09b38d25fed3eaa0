"""A partner's word to the crisis centre on one of its measures: it declines the measure
(its service cannot carry it out) or asks a question, with a reason; an officer deals
with it.

Each function checks the rule, writes, records the audit event and queues the mail in
the caller's transaction; the caller commits once. The reason stays in its row: the
audit trail and the mail name the message, the measure and the dossier, never its words.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload

from . import audit, notifications
from .access import can_update_measure
from .casework import require_not_purged
from .clock import now_utc
from .extensions import db
from .inputs import has_control_characters
from .models import (
    Dossier,
    Measure,
    MeasureMessage,
    MeasureMessageKind,
    User,
    waits_for_an_officer,
)
from .refusals import Refused

REASON_MAX = 2000

# What the dossier's lead officer (or the duty mailbox) is told, by kind.
MAIL_KINDS = {
    MeasureMessageKind.DECLINE: "partner.declined",
    MeasureMessageKind.QUESTION: "partner.question",
}


def check_reason(text: str) -> str:
    """The reason as kept: trimmed, present, at most REASON_MAX characters, as typed."""
    reason = text.strip()
    if not reason:
        raise Refused(_l("Write your reason or question first."), "reason")
    if len(reason) > REASON_MAX:
        raise Refused(_l("Use at most %(max)d characters.", max=REASON_MAX), "reason")
    if has_control_characters(reason):
        raise Refused(_l("The text holds a control character; type it again."), "reason")
    return reason


def send(measure: Measure, kind: MeasureMessageKind, text: str, actor: User) -> MeasureMessage:
    """A partner declines one of its current measures or asks about it; the dossier's
    lead officer is told by mail (the duty mailbox when nobody leads it)."""
    require_not_purged(measure.dossier)
    if measure.ended:
        raise Refused(_l("This measure is lifted: it can no longer be declined or asked about."))
    if measure.decided_at is None or not can_update_measure(actor, measure):
        raise Refused(_l("This measure is not your service's."))
    reason = check_reason(text)
    message = MeasureMessage(
        measure_id=measure.id,
        kind=kind,
        reason=reason,
        author_id=actor.id,
        organisation_id=measure.organisation_id,
    )
    db.session.add(message)
    db.session.flush()
    audit.record(
        "measure.message",
        actor=actor,
        object_type="measure_message",
        object_id=message.id,
        dossier=measure.dossier,
        message_id=message.id,
        measure_id=measure.id,
        kind=kind.value,
        organisation_id=measure.organisation_id,
    )
    _tell_the_centre(measure.dossier, MAIL_KINDS[kind])
    return message


def _tell_the_centre(dossier: Dossier, kind: str) -> None:
    """Mail the dossier's lead officer; a dossier nobody leads (as an active officer),
    the duty mailbox if there is one."""
    reference = dossier.reference
    notifications.queue_for_lead(dossier, kind, reference=reference, link=f"/dossiers/{reference}")


def mark_handled(dossier: Dossier, message: MeasureMessage, actor: User) -> None:
    """An officer has dealt with a partner's message on one of the dossier's measures: it
    leaves the dashboard."""
    if message.handled_at is not None:
        raise Refused(_l("This message has already been dealt with."))
    message.handled_at, message.handled_by_id = now_utc(), actor.id
    audit.record(
        "measure.message_handled",
        actor=actor,
        object_type="measure_message",
        object_id=message.id,
        dossier=dossier,
        message_id=message.id,
        measure_id=message.measure_id,
        kind=message.kind.value,
    )


# --- Reads -------------------------------------------------------------------------------


def open_messages(limit: int) -> list[MeasureMessage]:
    """The messages waiting for an officer (models.waits_for_an_officer), the oldest
    first, each with its dossier and service (read with it: one query whatever the
    number)."""
    return list(
        db.session.scalars(
            select(MeasureMessage)
            .join(MeasureMessage.measure)
            .join(Measure.dossier)
            .options(
                contains_eager(MeasureMessage.measure).contains_eager(Measure.dossier),
                joinedload(MeasureMessage.organisation),
            )
            .where(waits_for_an_officer())
            .order_by(MeasureMessage.created_at, MeasureMessage.id)
            .limit(limit)
        )
    )


def of_dossier(dossier: Dossier) -> list[MeasureMessage]:
    """Every message on the dossier's measures, the oldest first, with its author and
    service, in one query."""
    return list(
        db.session.scalars(
            select(MeasureMessage)
            .join(Measure, Measure.id == MeasureMessage.measure_id)
            .options(
                joinedload(MeasureMessage.author),
                joinedload(MeasureMessage.organisation),
            )
            .where(Measure.dossier_id == dossier.id)
            .order_by(MeasureMessage.created_at, MeasureMessage.id)
        )
    )


def by_measure(messages: list[MeasureMessage]) -> dict[int, list[MeasureMessage]]:
    """Messages grouped by their measure, each group in the list's order."""
    grouped: dict[int, list[MeasureMessage]] = {}
    for message in messages:
        grouped.setdefault(message.measure_id, []).append(message)
    return grouped


def declined_measures(messages: list[MeasureMessage]) -> set[int]:
    """The measures with a decline no officer has dealt with yet."""
    return {
        m.measure_id
        for m in messages
        if m.kind is MeasureMessageKind.DECLINE and m.handled_at is None
    }


def of_service(measure: Measure, user: User) -> list[MeasureMessage]:
    """The messages the user's own service sent on the measure, the oldest first: never
    another service's (a measure moved from one service to another keeps both)."""
    return list(
        db.session.scalars(
            select(MeasureMessage)
            .options(joinedload(MeasureMessage.author))
            .where(
                MeasureMessage.measure_id == measure.id,
                MeasureMessage.organisation_id == user.organisation_id,
            )
            .order_by(MeasureMessage.created_at, MeasureMessage.id)
        )
    )
