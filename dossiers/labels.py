"""Human words for the stored codes, each wrapped for translation."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from flask_babel import get_locale, ngettext
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from .models import (
    AssessmentSource,
    DossierKind,
    DossierState,
    EventKind,
    MeasureMessageKind,
    MeasureStatus,
    OrganisationKind,
    Role,
    ThreatGround,
    VipCategory,
)
from .reference import measure_type_names

LABELS = {
    DossierKind.THREATENED_PERSON: _l("Threatened person"),
    DossierKind.VIP_PROTECTION: _l("VIP protection"),
    DossierState.INTAKE: _l("Intake"),
    DossierState.ASSESSMENT: _l("Assessment"),
    DossierState.MEASURES_DECIDED: _l("Measures decided"),
    DossierState.CLOSED: _l("Closed"),
    ThreatGround.FUNCTION: _l("Function"),
    ThreatGround.PROFESSION: _l("Profession"),
    ThreatGround.SOCIAL_ROLE: _l("Social role"),
    VipCategory.HEAD_OF_STATE: _l("Head of state"),
    VipCategory.HEAD_OF_GOVERNMENT: _l("Head of government"),
    VipCategory.MINISTER: _l("Minister"),
    VipCategory.OTHER: _l("Other"),
    AssessmentSource.OCAM: _l("OCAM"),
    AssessmentSource.FEDERAL_POLICE: _l("Federal police"),
    AssessmentSource.OTHER: _l("Other"),
    EventKind.EU_MINISTERIAL_COUNCIL: _l("EU ministerial council"),
    EventKind.NATO_MINISTERIAL: _l("NATO ministerial"),
    EventKind.EUROPEAN_SUMMIT: _l("European summit"),
    EventKind.NATO_SUMMIT: _l("NATO summit"),
    EventKind.STATE_VISIT: _l("State visit"),
    EventKind.OTHER: _l("Other"),
    MeasureStatus.REQUESTED: _l("Requested"),
    MeasureStatus.ACKNOWLEDGED: _l("Acknowledged"),
    MeasureStatus.IN_EXECUTION: _l("In execution"),
    MeasureStatus.LIFTED: _l("Lifted"),
    MeasureStatus.WITHDRAWN: _l("Withdrawn"),
    MeasureMessageKind.DECLINE: _l("Declined"),
    MeasureMessageKind.QUESTION: _l("Question"),
    OrganisationKind.CRISIS_CENTRE: _l("Crisis centre"),
    OrganisationKind.FEDERAL_POLICE: _l("Federal police"),
    OrganisationKind.LOCAL_POLICE: _l("Local police"),
    OrganisationKind.OTHER: _l("Other"),
    Role.OFFICER: _l("Crisis-centre officer"),
    Role.PARTNER: _l("Police partner"),
    Role.ANALYST: _l("Statistics reader"),
    Role.ADMIN: _l("Administrator"),
}

LEVELS = {
    1: _l("1 – low"),
    2: _l("2 – medium"),
    3: _l("3 – serious"),
    4: _l("4 – very serious"),
}

ACTIONS = {
    "dossier.create": _l("Dossier opened"),
    "dossier.transition": _l("State changed"),
    "dossier.transition_refused": _l("State change refused"),
    "dossier.person_add": _l("Person added"),
    "dossier.person_remove": _l("Person removed"),
    "dossier.event_set": _l("Event set"),
    "dossier.approval": _l("Minister's approval recorded"),
    "dossier.view": _l("Dossier read"),
    "person.create": _l("Person recorded"),
    "person.update": _l("Person corrected"),
    "assessment.create": _l("Threat assessment recorded"),
    "assessment.correct": _l("Threat assessment corrected"),
    "assessment.withdraw": _l("Threat assessment withdrawn"),
    "note.create": _l("Internal note added"),
    "document.add": _l("Document attached"),
    "document.download": _l("Document downloaded"),
    "document.withdraw": _l("Document withdrawn"),
    "dossier.print": _l("Dossier printed"),
    "dossier.hand_over": _l("Dossier handed over"),
    "dossier.legal_hold": _l("Legal hold placed"),
    "dossier.legal_hold_lifted": _l("Legal hold lifted"),
    "retention.run": _l("Personal data past its retention period removed"),
    "event.create": _l("Event created"),
    "delegation.import": _l("Delegation list imported"),
    "standard_measure.create": _l("Standard measure added to a set"),
    "standard_measure.delete": _l("Standard measure removed from a set"),
    "event.update": _l("Event changed"),
    "event.view": _l("Event read"),
    "measure.create": _l("Measure added"),
    "measure.lift": _l("Measure lifted"),
    "measure.correct": _l("Measure corrected"),
    "measure.withdraw": _l("Measure withdrawn"),
    "measure.report": _l("Partner report on a measure"),
    "measure.view": _l("Measure read"),
    "measure.message": _l("Message from a partner"),
    "measure.message_handled": _l("Partner's message dealt with"),
    "user.create": _l("User created"),
    "user.update": _l("User changed"),
    "user.login": _l("Signed in"),
    "user.login_failed": _l("Sign-in refused"),
    "user.logout": _l("Signed out"),
    "user.login_locked": _l("Sign-in refused: too many failures"),
    "user.totp_failed": _l("Wrong second-factor code"),
    "user.totp_enrolled": _l("Two-factor sign-in set up"),
    "user.totp_reset": _l("Two-factor sign-in reset"),
    "user.enrolment_code": _l("Enrolment code issued"),
    "user.totp_keys_rotated": _l("Second-factor secrets encrypted with the new key"),
    "user.password_change": _l("Password changed"),
    "user.password_change_failed": _l("Password change refused: wrong current password"),
    "user.invite": _l("Invitation mailed"),
    "user.password_reset_request": _l("New password asked for by mail"),
    "user.password_set": _l("Password chosen through a mailed link"),
    "organisation.create": _l("Organisation created"),
    "organisation.update": _l("Organisation changed"),
    "measure_type.create": _l("Measure type created"),
    "measure_type.update": _l("Measure type changed"),
    "access.refused": _l("Access refused"),
    "person.search": _l("Persons searched"),
    "statistics.drill": _l("Figure list read"),
    "statistics.export": _l("Report exported"),
    "audit.export": _l("Audit trail exported"),
    "audit.access_report": _l("Access report made"),
    "mail.sent": _l("Mail sent"),
    "mail.dead": _l("Mail given up"),
    "mail.retry": _l("Given-up mail sent again"),
    "mail.digests": _l("Daily digests made"),
}

# What each kind of mail (notifications.MAILS) is, for the administrator's outbox page.
MAIL_KINDS = {
    "measure.decided": _l("Measure decided, to its service"),
    "measure.changed": _l("Measure changed, to its service"),
    "measure.lifted": _l("Measure lifted, to its service"),
    "measure.withdrawn": _l("Measure withdrawn, to its service"),
    "measure.reminder": _l("Reminder of a measure not acknowledged"),
    "digest.officer": _l("Daily digest, to an officer"),
    "digest.duty": _l("Daily digest, to the duty mailbox"),
    "partner.declined": _l("Measure declined by a partner"),
    "partner.question": _l("Question from a partner"),
    "account.invitation": _l("Invitation to a new account"),
    "account.password_reset": _l("Password reset link"),
    "account.password_changed": _l("Password changed notice"),
    "account.second_factor_reset": _l("Two-factor reset notice"),
}


def mail_kind(kind: str) -> str:
    """A kind of mail in the reader's words; an unknown one as it is stored."""
    return str(MAIL_KINDS[kind]) if kind in MAIL_KINDS else kind


def measure_type_name(code: str | None, stored: str) -> str:
    """A measure type in the reader's language, as the admins named it; its stored
    English name where it has none in that language."""
    names = measure_type_names().get(code or "")
    if names is None:
        return stored
    return names.get(str(get_locale() or "en"), "") or stored


def label(value: object) -> str:
    """The reader's word for a stored code: a state, kind, level or audit action."""
    if isinstance(value, StrEnum) and value in LABELS:
        return str(LABELS[value])
    if isinstance(value, int) and value in LEVELS:
        return str(LEVELS[value])
    if isinstance(value, str) and value in ACTIONS:
        return str(ACTIONS[value])
    return "" if value is None else str(value)


def unit_noun(unit: str, count: int) -> str:
    """What a figure's rows are, agreeing with their count."""
    nouns = {
        "dossier": lambda: ngettext("dossier", "dossiers", count),
        "person": lambda: ngettext("person", "persons", count),
        "event": lambda: ngettext("event", "events", count),
        "attendance": lambda: ngettext("attendance", "attendances", count),
        "measure": lambda: ngettext("measure", "measures", count),
    }
    return nouns[unit]()


def measure_status(value: str) -> str:
    """A measure status kept as its code (in an audit event's detail), in the reader's
    words; a code no longer known as it was stored."""
    try:
        return str(LABELS[MeasureStatus(value)])
    except ValueError:
        return value


def options(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """Turn (value, label) pairs into the select options WTForms expects."""
    return [
        SelectChoice(value="" if value is None else str(value), label=label)  # type: ignore[arg-type]
        for value, label in pairs
    ]


def choices(enum: type[StrEnum]) -> list[SelectChoice]:
    return options((member.value, LABELS[member]) for member in enum)  # type: ignore[index]
