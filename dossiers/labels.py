"""Human words for the stored codes, each wrapped for translation."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from .extensions import request_translations
from .models import (
    AssessmentSource,
    DossierKind,
    DossierState,
    EventKind,
    MeasureStatus,
    OrganisationKind,
    Role,
    ThreatGround,
    VipCategory,
)

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
    "dossier.person_add": _l("Person added"),
    "dossier.person_remove": _l("Person removed"),
    "dossier.event_set": _l("Event set"),
    "dossier.approval": _l("Minister's approval recorded"),
    "dossier.view": _l("Dossier read"),
    "person.create": _l("Person recorded"),
    "person.update": _l("Person corrected"),
    "assessment.create": _l("Threat assessment recorded"),
    "event.create": _l("Event created"),
    "measure.create": _l("Measure added"),
    "measure.lift": _l("Measure lifted"),
    "measure.report": _l("Partner report on a measure"),
    "measure.view": _l("Measure read"),
    "user.create": _l("User created"),
    "user.update": _l("User changed"),
    "user.login": _l("Signed in"),
    "user.login_failed": _l("Sign-in refused"),
    "user.logout": _l("Signed out"),
    "user.login_locked": _l("Sign-in refused: too many failures"),
    "user.totp_failed": _l("Wrong second-factor code"),
    "user.totp_enrolled": _l("Two-factor sign-in set up"),
    "user.totp_reset": _l("Two-factor sign-in reset"),
    "organisation.create": _l("Organisation created"),
    "organisation.update": _l("Organisation changed"),
    "access.refused": _l("Access refused"),
    "person.search": _l("Persons searched"),
    "statistics.drill": _l("Figure list read"),
    "statistics.export": _l("Report exported"),
    "audit.export": _l("Audit trail exported"),
}


# The measure types of the reference list, by code: the table holds one (English) label,
# a partner reads the type in their own language. A type added later without a
# translation shows its stored label.
MEASURE_TYPES = {
    "contact_point": _l("Contact point at the local police"),
    "emergency_priority": _l("Priority handling at the emergency centres"),
    "home_security": _l("Home-security advice"),
    "patrols": _l("Patrols"),
    "permanent_presence": _l("Permanent presence"),
    "escort": _l("Escort"),
    "close_protection": _l("Close protection"),
    "safe_address": _l("Safe address"),
    "perimeter": _l("Perimeter"),
}


@lru_cache(maxsize=8)
def _in_language(translations: Any) -> tuple[dict[Any, str], ...]:
    """Every label table, translated once per catalogue: a list page asks for a few
    labels per row, and each lazy string would look its catalogue up again."""
    return tuple(
        {key: str(text) for key, text in table.items()}
        for table in (LABELS, LEVELS, ACTIONS, MEASURE_TYPES)
    )


def measure_type_name(code: str | None, stored: str) -> str:
    types = _in_language(request_translations())[3]
    return types[code] if code in types else stored


def label(value: object) -> str:
    labels, levels, actions, _types = _in_language(request_translations())
    if isinstance(value, StrEnum) and value in labels:
        return labels[value]
    if isinstance(value, int) and value in levels:
        return levels[value]
    if isinstance(value, str) and value in actions:
        return actions[value]
    return "" if value is None else str(value)


# Badges are functions, not template macros: a macro call costs more than the rest of
# a list row, and a list has a badge or two per row. Filled with %, which escapes each
# value as format() does, at a third of its cost.
LEVEL_BADGE = Markup('<span class="badge level level-%d">%s</span>')
NO_LEVEL = Markup('<span class="text-muted">%s</span>')
STATE_BADGE = Markup('<span class="badge state state-%s">%s</span>')
STATUS_BADGE = Markup('<span class="badge mstatus mstatus-%s">%s</span>')


def level_badge(level: int | None) -> Markup:
    if level:
        return LEVEL_BADGE % (level, label(level))
    return NO_LEVEL % _("not assessed")


def state_badge(state: StrEnum) -> Markup:
    return STATE_BADGE % (state.value, label(state))


def status_badge(status: StrEnum) -> Markup:
    return STATUS_BADGE % (status.value, label(status))


def options(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """Turn (value, label) pairs into the select options WTForms expects."""
    return [
        SelectChoice(value="" if value is None else str(value), label=label)  # type: ignore[arg-type]
        for value, label in pairs
    ]


def choices(enum: type[StrEnum]) -> list[SelectChoice]:
    return options((member.value, LABELS[member]) for member in enum)  # type: ignore[index]
