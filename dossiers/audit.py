"""The audit trail: every write, and every read of a dossier's personal data.

Details hold identifiers, states and levels, never names or free text, so that the
administrator who reads the trail does not read dossier contents.
"""

from __future__ import annotations

import json
from typing import Any

from flask import has_request_context, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .extensions import db
from .models import AuditEvent, Dossier, User, now_utc

READ_ACTIONS = frozenset({"dossier.view", "measure.view"})


def record(
    action: str,
    *,
    actor: User | None,
    object_type: str,
    object_id: int | None,
    dossier: Dossier | None = None,
    at=None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction; the caller commits it."""
    event = AuditEvent(
        at=at or now_utc(),
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        dossier_id=dossier.id if dossier is not None else None,
        remote_addr=request.remote_addr if has_request_context() else None,
        detail=json.dumps(detail, sort_keys=True, default=str),
    )
    db.session.add(event)
    return event


def dossier_history(dossier: Dossier) -> list[AuditEvent]:
    """Return the writes on a dossier, newest first, with their actors, in one query."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .options(joinedload(AuditEvent.actor))
            .where(
                AuditEvent.dossier_id == dossier.id,
                AuditEvent.action.not_in(READ_ACTIONS),
            )
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        )
    )


def detail_of(event: AuditEvent) -> dict[str, Any]:
    return json.loads(event.detail or "{}")
