"""The dossier workflow: the transition table, its guards, and the one place that
changes a dossier's state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import audit, notifications
from .casework import PURGED, require_not_purged
from .clock import date_of, now_utc
from .extensions import db
from .labels import label
from .measures import end_measure
from .models import (
    Dossier,
    DossierState,
    Role,
    Transition,
    User,
)
from .refusals import Refused

S = DossierState


# A guard yields everything the dossier still lacks for a step: the same list refuses
# the step and shows, on the dossier's page, what is missing before anyone tries.
Guard = Callable[[Dossier], Iterator[str]]


def _has_person(dossier: Dossier) -> Iterator[str]:
    if not dossier.persons:
        yield _l("Add at least one protected person first.")
    if dossier.is_vip and dossier.event is None:
        yield _l("A VIP protection dossier needs its event first.")


def _ready_to_decide(dossier: Dossier) -> Iterator[str]:
    if dossier.current_assessment is None:
        yield _l("Record a threat assessment with a level first.")
    if not any(m.organisation_id and m.start_date and not m.ended for m in dossier.measures):
        yield _l("Add at least one measure with a partner organisation and a start date.")
    if dossier.is_vip and not (dossier.approval_date and dossier.approval_reference):
        yield _l("Record the Minister's approval (date and reference) first.")


def _not_purged(dossier: Dossier) -> Iterator[str]:
    # A purged dossier stays closed: reopened and closed again, what it gained meanwhile
    # would never be purged (retention.purgeable takes a dossier once).
    if dossier.purged_at is not None:
        yield PURGED


@dataclass(frozen=True)
class TransitionRule:
    name: str
    label: str
    sources: frozenset[DossierState]
    target: DossierState
    guards: tuple[Guard, ...]
    needs_reason: bool
    roles: frozenset[Role] = frozenset({Role.OFFICER})


TRANSITIONS: dict[str, TransitionRule] = {
    rule.name: rule
    for rule in (
        TransitionRule(
            "start_assessment",
            _l("Start assessment"),
            frozenset({S.INTAKE}),
            S.ASSESSMENT,
            (_has_person,),
            False,
        ),
        TransitionRule(
            "decide_measures",
            _l("Decide measures"),
            frozenset({S.ASSESSMENT}),
            S.MEASURES_DECIDED,
            (_ready_to_decide,),
            False,
        ),
        TransitionRule(
            "close_without_measures",
            _l("Close without measures"),
            frozenset({S.INTAKE, S.ASSESSMENT}),
            S.CLOSED,
            (),
            True,
        ),
        TransitionRule(
            "reassess",
            _l("Re-assess"),
            frozenset({S.MEASURES_DECIDED}),
            S.ASSESSMENT,
            (),
            True,
        ),
        TransitionRule(
            "close",
            _l("Close"),
            frozenset({S.MEASURES_DECIDED}),
            S.CLOSED,
            (),
            True,
        ),
        TransitionRule(
            "reopen",
            _l("Reopen"),
            frozenset({S.CLOSED}),
            S.ASSESSMENT,
            (_not_purged,),
            True,
        ),
    )
}


def available(dossier: Dossier) -> list[TransitionRule]:
    """Return the transitions that start from the dossier's current state."""
    return [rule for rule in TRANSITIONS.values() if dossier.state in rule.sources]


def missing(dossier: Dossier, rule: TransitionRule) -> list[str]:
    """What the dossier still lacks for the step (a reason, asked with the step, aside)."""
    return [str(lack) for guard in rule.guards for lack in guard(dossier)]


def checklist(dossier: Dossier) -> list[tuple[TransitionRule, list[str]]]:
    """Each next step with what it still needs: empty when it can be taken."""
    return [(rule, missing(dossier, rule)) for rule in available(dossier)]


def transitions_by_id(dossier: Dossier) -> dict[int, Transition]:
    """The dossier's transitions, for its timeline (an audit event names its row)."""
    return {
        t.id: t
        for t in db.session.scalars(select(Transition).where(Transition.dossier_id == dossier.id))
    }


def transition(
    dossier: Dossier,
    name: str,
    actor: User,
    reason: str = "",
    *,
    at: dt.datetime | None = None,
) -> Transition:
    """Move the dossier, writing its Transition row and audit event in this transaction.

    Raises Refused, having written nothing, when the transition does not
    exist, does not start from the current state, the actor may not fire it, or a
    guard refuses. The caller commits. `at` back-dates historic records at import.
    """
    rule = TRANSITIONS.get(name)
    if rule is None:
        raise Refused(_l("There is no such transition."))
    if actor.role not in rule.roles:
        raise Refused(_l("Only crisis-centre officers move dossiers."))
    require_not_purged(dossier)
    if dossier.state not in rule.sources:
        raise Refused(
            _l(
                "“%(label)s” is not possible while the dossier is in %(state)s.",
                label=rule.label,
                state=label(dossier.state).lower(),
            )
        )
    reason = (reason or "").strip()
    lacking = missing(dossier, rule)
    if lacking:
        raise Refused(" ".join(lacking))
    if rule.needs_reason and not reason:
        raise Refused(_l("Give a reason."), "reason")

    at = at or now_utc()
    source = dossier.state
    dossier.state = rule.target
    if rule.target is S.MEASURES_DECIDED:
        for measure in dossier.measures:
            if measure.decided_at is None and not measure.ended:
                measure.decided_at = at
                notifications.notify_partner(measure, "measure.decided")
    if rule.target is S.CLOSED:
        _close(dossier, reason, date_of(at))
    elif source is S.CLOSED:
        dossier.closed_on = None
        dossier.closure_reason = None
    row = Transition(
        dossier_id=dossier.id,
        name=name,
        from_state=source,
        to_state=rule.target,
        actor_id=actor.id,
        at=at,
        reason=reason,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "dossier.transition",
        actor=actor,
        object_type="dossier",
        object_id=dossier.id,
        dossier=dossier,
        at=at,
        transition=name,
        from_state=source.value,
        to_state=rule.target.value,
        transition_id=row.id,
    )
    return row


def _close(dossier: Dossier, reason: str, on: dt.date) -> None:
    dossier.closed_on = on
    dossier.closure_reason = reason
    # Measures still in force end on the closing date.
    for measure in dossier.measures:
        if not measure.ended:
            end_measure(measure, on)
