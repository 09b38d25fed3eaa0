"""The audit trail: every write, every read of personal data, every refused attempt.

Details hold identifiers, states and levels, never names or free text, so that the
administrator who reads the trail does not read dossier contents.

The trail is a hash chain: each event has the next sequence number and an HMAC, keyed
from configuration (never from the database), over its content and the previous
event's hash. `verify()` walks the chain and names the first event that does not fit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from . import queries
from .clock import now_utc, start_of
from .extensions import db
from .models import READ_ACTIONS, AuditEvent, AuditHead, Dossier, User

GENESIS = "0" * 64


def _key() -> bytes:
    return current_app.config["AUDIT_KEY"].encode()


# What an event's HMAC covers, in this order.
HASHED = (
    "sequence",
    "at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "dossier_id",
    "remote_addr",
    "outcome",
    "detail",
    "prev_hash",
)


def digest(event: Mapping[str, Any], key: bytes) -> str:
    """The HMAC of an event's columns (an event's `fields()`, or a row to insert)."""
    content = json.dumps(
        [
            event[name].isoformat(timespec="microseconds") if name == "at" else event[name]
            for name in HASHED
        ],
        separators=(",", ":"),
    )
    return hmac.new(key, content.encode(), hashlib.sha256).hexdigest()


def fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in HASHED}


def _claim_next() -> tuple[int, str]:
    """Take the next sequence number and the hash it follows; the head row stays locked
    until commit."""
    bump = queries.claim_next_event()
    claimed = db.session.execute(bump).first()
    if claimed is None:
        try:
            with db.session.begin_nested():
                db.session.add(AuditHead(id=1, last_sequence=0, last_hash=GENESIS))
        except IntegrityError:
            pass  # created meanwhile by another transaction
        claimed = db.session.execute(bump).one()
    return claimed[0], claimed[1]


def record(
    action: str,
    *,
    actor: User | None,
    object_type: str,
    object_id: int | None,
    dossier: Dossier | None = None,
    at: dt.datetime | None = None,
    outcome: str = "ok",
    **detail: Any,
) -> AuditEvent:
    """Append an audit event in the current transaction; the caller commits it.

    Three statements, written at once rather than at the next flush: every dossier
    read passes here, and the head row is locked from the first one to the commit.
    """
    sequence, previous = _claim_next()
    event = AuditEvent(
        sequence=sequence,
        at=at or now_utc(),
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        dossier_id=dossier.id if dossier is not None else None,
        remote_addr=request.remote_addr if has_request_context() else None,
        outcome=outcome,
        detail=json.dumps(detail, sort_keys=True, default=str),
        prev_hash=previous,
    )
    event.hash = digest(fields(event), _key())
    append_event, move_head = queries.append_event()
    db.session.execute(append_event, {column: getattr(event, column) for column in EVENT_COLUMNS})
    head: dict[str, Any] = {"last_hash": event.hash}
    if changes_data(action, outcome):
        head["data_version"] = sequence
    db.session.execute(move_head, head)
    return event


EVENT_COLUMNS = (*HASHED, "hash")


def commit_read() -> None:
    """Commit a read's audit event, keeping the objects the request already loaded.

    The page is then built from what was read in the transaction that recorded the
    read; expiring it all at commit would load the dossier a second time.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def changes_data(action: str, outcome: str) -> bool:
    """Whether an event marks a change of the data the figures are computed from."""
    return outcome == "ok" and action not in READ_ACTIONS and not action.startswith(NOT_DATA)


NOT_DATA = ("user.login", "user.logout", "user.totp", "user.password", "access.", "mail.")


@dataclass(frozen=True)
class Verdict:
    events: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(batch: int = 2000, progress: Callable[[int], None] = lambda n: None) -> Verdict:
    """Walk the whole chain in sequence order, a batch at a time; `progress` hears of
    each event checked."""
    key = _key()
    expected, previous, seen = 1, GENESIS, 0
    result = db.session.execute(
        select(AuditEvent).order_by(AuditEvent.sequence).execution_options(yield_per=batch)
    )
    try:
        for event in result.scalars():
            seen += 1
            if event.sequence != expected:
                return Verdict(seen, expected, f"event #{expected} is missing")
            if event.prev_hash != previous:
                return Verdict(seen, expected, f"event #{expected} does not follow #{expected - 1}")
            if not hmac.compare_digest(event.hash, digest(fields(event), key)):
                return Verdict(seen, expected, f"event #{expected} was altered")
            expected, previous = expected + 1, event.hash
            progress(1)
    finally:
        result.close()  # a server-side cursor on PostgreSQL, left early on a break
    head = db.session.get(AuditHead, 1)
    last = expected - 1
    if head is not None and (head.last_sequence != last or head.last_hash != previous):
        return Verdict(seen, last + 1, f"events after #{last} were removed")
    return Verdict(seen)


@dataclass(frozen=True)
class Entry:
    """One line of a dossier's timeline: when, who (a name, or None for the system),
    what, and the event's detail read once."""

    at: dt.datetime
    actor: str | None
    action: str
    detail: dict[str, Any]


def dossier_history(dossier: Dossier) -> list[Entry]:
    """Return the writes on a dossier, newest first, with their actors' names, in one
    query."""
    return [
        Entry(at, actor, action, json.loads(detail or "{}"))
        for at, action, detail, actor in db.session.execute(
            queries.dossier_writes(), {"dossier_id": dossier.id}
        )
    ]


@dataclass(frozen=True)
class Criteria:
    actor_id: int | None = None
    reference: str = ""
    action: str = ""
    outcome: str = ""
    since: dt.date | None = None
    until: dt.date | None = None


def search(criteria: Criteria):
    """Select the events matching the criteria, newest first, with actor and dossier."""
    query = select(AuditEvent).options(joinedload(AuditEvent.actor), joinedload(AuditEvent.dossier))
    if criteria.actor_id:
        query = query.where(AuditEvent.actor_id == criteria.actor_id)
    if criteria.reference:
        wanted = select(Dossier.id).where(Dossier.reference == criteria.reference.strip().upper())
        query = query.where(AuditEvent.dossier_id == wanted.scalar_subquery())
    if criteria.action:
        query = query.where(AuditEvent.action == criteria.action)
    if criteria.outcome:
        query = query.where(AuditEvent.outcome == criteria.outcome)
    if criteria.since:
        query = query.where(AuditEvent.at >= start_of(criteria.since))
    if criteria.until:
        query = query.where(AuditEvent.at < start_of(criteria.until + dt.timedelta(days=1)))
    return query.order_by(AuditEvent.sequence.desc())


CSV_HEADER = [
    "sequence",
    "at_utc",
    "actor",
    "action",
    "object_type",
    "object_id",
    "dossier",
    "remote_addr",
    "outcome",
    "detail",
    "hash",
]


def csv_rows(criteria: Criteria, batch: int = 1000) -> Iterator[list[Any]]:
    """Yield the matching events as CSV rows, a batch at a time from the database."""
    yield CSV_HEADER
    result = db.session.execute(search(criteria).execution_options(yield_per=batch))
    try:
        for event in result.scalars():
            yield [
                event.sequence,
                event.at.isoformat(),
                event.actor.email if event.actor else "",
                event.action,
                event.object_type,
                event.object_id or "",
                event.dossier.reference if event.dossier else "",
                event.remote_addr or "",
                event.outcome,
                event.detail,
                event.hash,
            ]
    finally:
        result.close()
