"""Protection measures: decided for a partner service, acknowledged and carried out by
it, lifted by the centre (or when the dossier closes).

Each function checks the rule, writes, and records the audit event in the caller's
transaction; the caller commits once.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from . import audit, freshness, notifications
from .casework import require_not_purged
from .clock import moment, now_utc
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
    StandardMeasure,
    User,
    VipCategory,
)
from .refusals import Outcomes, Refused


def check_measure(
    dossier: Dossier, *, start_date: dt.date, end_date: dt.date | None, person: Person | None
) -> None:
    """What a measure's period and person must be, added or corrected."""
    if end_date is not None and end_date < start_date:
        raise Refused(_l("A measure cannot end before it starts."), "end_date")
    if person is not None and person not in dossier.persons:
        raise Refused(_l("The person is not in this dossier."), "person_id")


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
    require_not_purged(dossier)
    if dossier.state not in (DossierState.ASSESSMENT, DossierState.MEASURES_DECIDED):
        raise Refused(
            _l("Measures are added while the dossier is in assessment or has measures decided.")
        )
    check_measure(dossier, start_date=start_date, end_date=end_date, person=person)
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
    notifications.notify_partner(measure, "measure.decided")
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
    if measure.withdrawn:
        raise Refused(_l("A withdrawn measure cannot be lifted."))
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
    notifications.notify_partner(measure, "measure.lifted")


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
    require_not_purged(measure.dossier)
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
        entry = f"[{moment(now_utc())}] {note.strip()}"  # on the centre's clock, as shown
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


# --- Standard measure sets: per VIP category, proposed for every VIP at an event. ----


def standard_sets() -> dict[VipCategory, list[StandardMeasure]]:
    """Every category's set (an empty list for a category without one)."""
    lines = db.session.scalars(
        select(StandardMeasure).options(
            joinedload(StandardMeasure.measure_type), joinedload(StandardMeasure.organisation)
        )
    )
    sets: dict[VipCategory, list[StandardMeasure]] = {category: [] for category in VipCategory}
    for line in lines:
        sets[line.category].append(line)
    for lines_of_category in sets.values():
        lines_of_category.sort(key=lambda line: (line.measure_type.label, line.organisation.name))
    return sets


def add_standard(
    category: VipCategory, measure_type: MeasureType, organisation: Organisation, actor: User
) -> StandardMeasure:
    clash = db.session.scalar(
        select(StandardMeasure.id).where(
            StandardMeasure.category == category,
            StandardMeasure.measure_type_id == measure_type.id,
            StandardMeasure.organisation_id == organisation.id,
        )
    )
    if clash is not None:
        raise Refused(_l("This category's set has this measure for this partner already."))
    line = StandardMeasure(category=category, measure_type=measure_type, organisation=organisation)
    db.session.add(line)
    db.session.flush()
    audit.record(
        "standard_measure.create",
        actor=actor,
        object_type="standard_measure",
        object_id=line.id,
        category=category.value,
        type=measure_type.code,
        organisation_id=organisation.id,
    )
    return line


def remove_standard(line: StandardMeasure, actor: User) -> None:
    audit.record(
        "standard_measure.delete",
        actor=actor,
        object_type="standard_measure",
        object_id=line.id,
        category=line.category.value,
    )
    db.session.delete(line)


def apply_standard_sets(dossier: Dossier, actor: User) -> list[Measure]:
    """Give every VIP of the delegation its category's standard measures for the days of
    the dossier's event; a measure the VIP already has (same type, same partner, not
    ended) is not added twice. Each added measure is audited; adjust them after."""
    event = dossier.event
    if event is None:
        raise Refused(_l("Choose the dossier's event first."))
    sets = standard_sets()
    added = []
    for person in dossier.persons:
        for line in sets[person.category or VipCategory.OTHER]:
            if not line.measure_type.active:
                continue  # retired since the set was kept: no longer given
            if any(
                m.person_id == person.id
                and m.measure_type_id == line.measure_type_id
                and m.organisation_id == line.organisation_id
                and not m.ended
                for m in dossier.measures
            ):
                continue
            added.append(
                add_measure(
                    dossier,
                    measure_type=line.measure_type,
                    description=str(_l("Standard measure for the event")),
                    organisation=line.organisation,
                    start_date=event.start_date,
                    end_date=event.end_date,
                    actor=actor,
                    person=person,
                )
            )
    if not added:
        raise Refused(_l("Nothing to add: no standard measure is missing for its VIPs."))
    return added
