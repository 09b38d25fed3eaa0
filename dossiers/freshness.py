"""Refusing forms submitted over a stale version, and saying what changed meanwhile.

Each form that changes a dossier or a measure carries the version it was rendered
with and the audit sequence number of that moment (`seen`). SQLAlchemy's version
counter catches the race of two requests at once; this catches the slower one: an
officer who opened the page before a colleague changed the dossier.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from .clock import moment
from .extensions import db
from .inputs import counter
from .labels import label
from .models import AuditEvent, Dossier, Measure, Person, ThreatAssessment, is_dossier_write
from .refusals import Refused


def current_seen() -> int:
    """The audit sequence number now: what a page shows is as of this event."""
    return db.session.scalar(select(func.max(AuditEvent.sequence))) or 0


def check(
    thing: Dossier | Measure | ThreatAssessment | Person,
    version: object,
    seen: object,
    dossier: Dossier | None = None,
) -> None:
    """Raise Refused when the form was rendered with another version of the thing."""
    submitted = counter(version)
    if submitted is None or submitted == thing.version:
        return
    dossier_id = (
        thing.id
        if isinstance(thing, Dossier)
        else thing.dossier_id
        if isinstance(thing, Measure | ThreatAssessment)
        else dossier.id
        if dossier is not None
        else None
    )
    since = counter(seen) or 0
    changes = list(
        db.session.scalars(
            select(AuditEvent)
            .options(joinedload(AuditEvent.actor))
            .where(
                AuditEvent.dossier_id == dossier_id,
                AuditEvent.sequence > since,
                is_dossier_write(),
            )
            .order_by(AuditEvent.sequence)
            .limit(10)
        )
    )
    if not changes:
        raise Refused(
            _l(
                "This was changed since you opened the page. Nothing was saved: "
                "look at it again and retry."
            )
        )
    last = changes[-1]
    raise Refused(
        _l(
            "Changed by %(name)s at %(time)s since you opened the page: %(what)s. Nothing was "
            "saved: look at it again and retry.",
            name=last.actor.full_name if last.actor else "?",
            time=moment(last.at),
            what="; ".join(label(change.action) for change in changes),
        )
    )


def refusal(thing: Dossier | Measure, version: object, seen: object) -> str | None:
    """The stale-form message, or None when the form is fresh."""
    try:
        check(thing, version, seen)
    except Refused as stale:
        return str(stale)
    return None
