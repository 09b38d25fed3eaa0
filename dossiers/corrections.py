"""Corrections and withdrawals of assessments and measures: never silent.

A correction changes an entry in place and records, in the audit trail, each changed
field with its value before and after; the dossier's timeline says "changed: from → to".
A wrong entry is withdrawn with a reason, never deleted: it stays in the dossier, shown
as withdrawn, and counts nowhere (models.counts_as_decided, models.latest_assessment).

The audit detail holds codes, dates and ids, never free text or names (administrators
read the trail and see nothing of a dossier): a changed summary or description is
recorded as changed, without its words; persons and partners by id. Each function
checks the rule, writes and records the event in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l

from . import audit, notifications
from .casework import check_assessment, require_open
from .clock import day, now_utc
from .extensions import db
from .labels import label, measure_type_name
from .measures import check_measure
from .models import (
    AssessmentSource,
    Measure,
    MeasureStatus,
    MeasureType,
    Organisation,
    Person,
    ThreatAssessment,
    User,
)
from .refusals import Refused

# What the timeline calls each field a correction can change.
FIELDS = {
    "source": _l("source"),
    "level": _l("level"),
    "assessed_on": _l("assessment date"),
    "review_on": _l("review date"),
    "summary": _l("summary"),
    "person": _l("person"),
    "measure_type": _l("type"),
    "organisation": _l("partner"),
    "start_date": _l("start date"),
    "end_date": _l("end date"),
    "description": _l("description"),
    "lead_officer": _l("lead officer"),
}
# Their words stay out of the audit trail: only that they changed.
FREE_TEXT = frozenset({"summary", "description"})
# What a partner acts on: a decided measure changed in one of these goes back to its
# partner as requested, to be acknowledged again.
PARTNER_FACING = frozenset(
    {"measure_type", "description", "organisation", "person", "start_date", "end_date"}
)


def _stored(value: Any) -> Any:
    """A value as the audit detail keeps it: a code, a date, an id."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, MeasureType):
        return value.code
    if isinstance(value, Person | Organisation):
        return value.id
    return value


def _apply(thing: Any, values: dict[str, Any]) -> dict[str, list[Any] | None]:
    """Set the values that differ; return them as {field: [before, after]} (None for a
    free text, whose words are not kept)."""
    changes: dict[str, list[Any] | None] = {}
    for field, new in values.items():
        old = getattr(thing, field)
        if old == new:
            continue
        changes[field] = None if field in FREE_TEXT else [_stored(old), _stored(new)]
        setattr(thing, field, new)
    if not changes:
        raise Refused(_l("Nothing was changed: there is nothing to save."))
    return changes


def correct_assessment(
    assessment: ThreatAssessment,
    *,
    source: AssessmentSource,
    level: int,
    assessed_on: dt.date,
    review_on: dt.date | None,
    summary: str,
    person: Person | None,
    actor: User,
) -> None:
    dossier = assessment.dossier
    if assessment.withdrawn:
        raise Refused(_l("A withdrawn assessment cannot be corrected."))
    check_assessment(
        dossier, level=level, assessed_on=assessed_on, review_on=review_on, person=person
    )
    changes = _apply(
        assessment,
        {
            "source": source,
            "level": level,
            "assessed_on": assessed_on,
            "review_on": review_on,
            "summary": summary.strip(),
            "person": person,
        },
    )
    db.session.flush()
    db.session.expire(dossier, ["assessments"])  # a new date can change which is current
    audit.record(
        "assessment.correct",
        actor=actor,
        object_type="assessment",
        object_id=assessment.id,
        dossier=dossier,
        changes=changes,
    )


def withdraw_assessment(assessment: ThreatAssessment, reason: str, actor: User) -> None:
    require_open(assessment.dossier)
    if assessment.withdrawn:
        raise Refused(_l("This assessment is already withdrawn."))
    assessment.withdrawn_at = now_utc()
    assessment.withdrawal_reason = why_withdrawn(reason)
    db.session.flush()
    audit.record(
        "assessment.withdraw",
        actor=actor,
        object_type="assessment",
        object_id=assessment.id,
        dossier=assessment.dossier,
        level=assessment.level,
    )


def correct_measure(
    measure: Measure,
    *,
    measure_type: MeasureType,
    description: str,
    organisation: Organisation,
    person: Person | None,
    start_date: dt.date,
    end_date: dt.date | None,
    actor: User,
) -> None:
    dossier = measure.dossier
    require_open(dossier)
    if measure.withdrawn:
        raise Refused(_l("A withdrawn measure cannot be corrected."))
    check_measure(dossier, start_date=start_date, end_date=end_date, person=person)
    if organisation is not measure.organisation and measure.execution_note:
        # Its partner's reports would reach the other partner with it.
        raise Refused(
            _l(
                "Its partner has reported on this measure: withdraw it and add one for the "
                "other partner."
            ),
            "organisation_id",
        )
    before = measure.organisation
    changes = _apply(
        measure,
        {
            "measure_type": measure_type,
            "description": description.strip(),
            "organisation": organisation,
            "person": person,
            "start_date": start_date,
            "end_date": end_date,
        },
    )
    tell = (
        measure.decided_at is not None
        and not measure.ended
        and bool(PARTNER_FACING & changes.keys())
    )
    again = tell and measure.status is not MeasureStatus.REQUESTED
    if again:
        measure.status = MeasureStatus.REQUESTED
    if tell:
        if organisation is before:
            notifications.notify_partner(measure, "measure.changed")
        else:
            notifications.notify_partner(measure, "measure.withdrawn", organisation=before)
            notifications.notify_partner(measure, "measure.decided")
    measure.updated_at = now_utc()
    db.session.flush()
    audit.record(
        "measure.correct",
        actor=actor,
        object_type="measure",
        object_id=measure.id,
        dossier=dossier,
        changes=changes,
        organisation_id=organisation.id,
        status=MeasureStatus.REQUESTED.value if again else None,
    )


def withdraw_measure(measure: Measure, reason: str, actor: User) -> None:
    require_open(measure.dossier)
    if measure.withdrawn:
        raise Refused(_l("This measure is already withdrawn."))
    previous = measure.status
    measure.status = MeasureStatus.WITHDRAWN
    measure.withdrawn_at = measure.updated_at = now_utc()
    measure.withdrawal_reason = why_withdrawn(reason)
    db.session.flush()
    notifications.notify_partner(measure, "measure.withdrawn")
    audit.record(
        "measure.withdraw",
        actor=actor,
        object_type="measure",
        object_id=measure.id,
        dossier=measure.dossier,
        from_status=previous.value,
        organisation_id=measure.organisation_id,
    )


def why_withdrawn(reason: str) -> str:
    """The reason a wrong entry is withdrawn: required."""
    if not reason.strip():
        raise Refused(_l("Say why it is withdrawn."), "reason")
    return reason.strip()


# --- The timeline's words for a correction ------------------------------------------


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None  # None (and after None): a free text that changed
    after: str | None


def described(changes: dict[str, list[Any] | None]) -> list[Change]:
    """A correction's changes in the reader's words: names for ids, labels for codes."""
    return [
        Change(str(FIELDS.get(field, field)), *(_shown(field, v) for v in values))
        if values is not None
        else Change(str(FIELDS.get(field, field)), None, None)
        for field, values in changes.items()
    ]


def _shown(field: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if field == "person":
        person = db.session.get(Person, value)
        return person.name if person else "?"
    if field == "lead_officer":
        officer = db.session.get(User, value)
        return officer.full_name if officer else "?"
    if field == "organisation":
        organisation = db.session.get(Organisation, value)
        return organisation.name if organisation else "?"
    if field == "measure_type":
        return measure_type_name(value, value)
    if field == "source":
        return label(AssessmentSource(value)) if value in set(AssessmentSource) else str(value)
    if field == "level":
        return label(value)
    if field.endswith(("_on", "_date")):
        return day(dt.date.fromisoformat(value))
    return str(value)
