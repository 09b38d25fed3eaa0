"""Reference data: the measure types of the reference list and the organisations that
carry measures out, as the forms offer them."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .extensions import db
from .models import MeasureType, Organisation, OrganisationKind

# The measure types of the reference list, by code. The table stores each with its English
# label; a reader sees it in their own language. A type added later without a
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


def standard_measure_types() -> list[MeasureType]:
    """The reference list as rows to store, with their English labels."""
    with force_locale("en"):
        return [MeasureType(code=code, label=str(text)) for code, text in MEASURE_TYPES.items()]


def active_measure_types() -> dict[int, MeasureType]:
    return {
        t.id: t
        for t in db.session.scalars(
            select(MeasureType).where(MeasureType.active).order_by(MeasureType.label)
        )
    }


def partner_organisations() -> dict[int, Organisation]:
    """The active services a measure can be assigned to (not the crisis centre itself)."""
    return {
        o.id: o
        for o in db.session.scalars(
            select(Organisation)
            .where(Organisation.active, Organisation.kind != OrganisationKind.CRISIS_CENTRE)
            .order_by(Organisation.name)
        )
    }
