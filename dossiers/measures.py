"""Protection measures: decided for a partner service, acknowledged and carried out by
it, lifted by the centre (or when the dossier closes).

Each function checks the rule, writes, and records the audit event in the caller's
transaction; the caller commits once.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l

from . import audit, freshness
from .clock import now_utc
from .extensions import db
from .labels import label
from .models import (
    Dossier,
    DossierState,
    Measure,
    MeasureStatus,
    MeasureType,
    Organisation,
    Person,
    User,
)
from .refusals import Outcomes, Refused


def add_measure(
    dossier: Dossier,
    *,
    measure_type: MeasureType,
    description: str,
    organisation: Organisation,
    start_date: dt.date,
    end_date: dt.date | None,
    actor: User,
    person: Person | None = None,
) -> Measure:
    if dossier.state not in (DossierState.ASSESSMENT, DossierState.MEASURES_DECIDED):
        raise Refused(
            _l("Measures are added while the dossier is in assessment or has measures decided.")
        )
    if end_date is not None and end_date < start_date:
        raise Refused(_l("A measure cannot end before it starts."))
    if person is not None and person not in dossier.persons:
        raise Refused(_l("The person is not in this dossier."))
    measure = Measure(
        dossier=dossier,
        measure_type=measure_type,
        description=description.strip(),
        organisation=organisation,
        person=person,
        start_date=start_date,
        end_date=end_date,
        status=MeasureStatus.REQUESTED,
        # Once measures are decided, a new one goes to its partner at once.
        decided_at=now_utc() if dossier.state is DossierState.MEASURES_DECIDED else None,
    )
    db.session.add(measure)
    db.session.flush()
    audit.record(
        "measure.create",
        actor=actor,
        object_type="measure",
        object_id=measure.id,
        dossier=dossier,
        type=measure_type.code,
        organisation_id=organisation.id,
    )
    return measure


def lift_measure(measure: Measure, actor: User, on: dt.date) -> None:
    if measure.lifted:
        raise Refused(_l("The measure is already lifted."))
    end_measure(measure, on)
    audit.record(
        "measure.lift",
        actor=actor,
        object_type="measure",
        object_id=measure.id,
        dossier=measure.dossier,
        status="lifted",
    )


def end_measure(measure: Measure, on: dt.date) -> None:
    """Lift a measure: it ends on the day (or the day it started, if that is later)."""
    measure.status = MeasureStatus.LIFTED
    if measure.end_date is None or measure.end_date > on:
        measure.end_date = max(on, measure.start_date)
    measure.updated_at = now_utc()


# What a partner may report, from each status.
PARTNER_STEPS: dict[MeasureStatus, tuple[MeasureStatus, ...]] = {
    MeasureStatus.REQUESTED: (MeasureStatus.ACKNOWLEDGED,),
    MeasureStatus.ACKNOWLEDGED: (MeasureStatus.IN_EXECUTION,),
    MeasureStatus.IN_EXECUTION: (MeasureStatus.IN_EXECUTION,),
}


def acknowledge_all(
    chosen: list[Measure], versions: dict[int, str], seen: str, actor: User
) -> Outcomes:
    """Acknowledge several requested measures in one step (a partner's event group):
    each checked against the version its page showed, acknowledged and audited on its
    own, or refused alone with the stale-form message or the rule's."""
    outcomes = Outcomes()
    for measure in chosen:
        try:
            freshness.check(measure, versions.get(measure.id, ""), seen)
            report_on_measure(measure, MeasureStatus.ACKNOWLEDGED, "", actor)
        except Refused as refusal:
            outcomes.refused.append((measure, str(refusal)))
        else:
            outcomes.done.append(measure)
    return outcomes


def report_on_measure(measure: Measure, status: MeasureStatus, note: str, actor: User) -> None:
    """A partner acknowledges a measure or reports its execution."""
    if status not in PARTNER_STEPS.get(measure.status, ()):
        raise Refused(
            _l(
                "A measure that is %(current)s cannot become %(new)s.",
                current=label(measure.status).lower(),
                new=label(status).lower(),
            )
        )
    if status is MeasureStatus.IN_EXECUTION and not note.strip():
        raise Refused(_l("Describe the execution in a note."))
    previous = measure.status
    measure.status = status
    if note.strip():
        stamp = now_utc().strftime("%Y-%m-%d %H:%M")
        entry = f"[{stamp} UTC] {note.strip()}"
        measure.execution_note = (
            f"{measure.execution_note}\n{entry}" if measure.execution_note else entry
        )
    measure.updated_at = now_utc()
    audit.record(
        "measure.report",
        actor=actor,
        object_type="measure",
        object_id=measure.id,
        dossier=measure.dossier,
        from_status=previous.value,
        status=status.value,
    )
