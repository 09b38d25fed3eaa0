"""Reference data: the measure types and the organisations that carry measures out, as
the forms offer them. Admins keep both; the standard list below is what the demo and an
admin's "add the standard list" start from."""

from __future__ import annotations

import re
import unicodedata

from flask import g
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import audit
from .extensions import db
from .models import MeasureType, Organisation, OrganisationKind, User
from .refusals import Refused

# The standard measure types, by code; stored with their names in the three languages,
# which admins may then change.
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
    """The standard list as rows to store, named in the three languages."""

    def names(language: str) -> list[str]:
        with force_locale(language):
            return [str(text) for text in MEASURE_TYPES.values()]

    return [
        MeasureType(code=code, label=en, label_nl=nl, label_fr=fr)
        for code, en, nl, fr in zip(
            MEASURE_TYPES, names("en"), names("nl"), names("fr"), strict=True
        )
    ]


def measure_type_names() -> dict[str, dict[str, str]]:
    """Every type's names by code and language, read once per request (a few rows)."""
    if "measure_type_names" not in g:
        g.measure_type_names = {
            code: {"en": en, "nl": nl, "fr": fr}
            for code, en, nl, fr in db.session.execute(
                select(
                    MeasureType.code, MeasureType.label, MeasureType.label_nl, MeasureType.label_fr
                )
            )
        }
    return g.measure_type_names


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


def save_measure_type(
    measure_type: MeasureType | None,
    *,
    label: str,
    label_nl: str,
    label_fr: str,
    active: bool,
    actor: User,
) -> MeasureType:
    """Create or change a measure type, named in the three languages; no two types share
    a name in any of them, as a partner could not tell them apart."""
    names = {"label": label.strip(), "label_nl": label_nl.strip(), "label_fr": label_fr.strip()}
    _refuse_a_name_taken(names, measure_type)
    action = "measure_type.update"
    if measure_type is None:
        measure_type = MeasureType(code=_new_code(names["label"]))
        db.session.add(measure_type)
        action = "measure_type.create"
    # Which fields changed, not their words: the trail holds no free text.
    changed = [
        column
        for column, value in (*names.items(), ("active", active))
        if getattr(measure_type, column) != value
    ]
    for column, value in names.items():
        setattr(measure_type, column, value)
    measure_type.active = active
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # Another admin saved a type of this name a moment ago: the same answer as
        # when their type was already there.
        raise Refused(
            _l("Another administrator has just added a type of this name."), "label"
        ) from None
    audit.record(
        action,
        actor=actor,
        object_type="measure_type",
        object_id=measure_type.id,
        code=measure_type.code,
        changed=changed,
        active=active,
    )
    return measure_type


def add_standard_types(actor: User) -> list[MeasureType]:
    """The standard list's types that the installation does not have yet."""
    present = set(db.session.scalars(select(MeasureType.code)))
    added = [t for t in standard_measure_types() if t.code not in present]
    for measure_type in added:
        _refuse_a_name_taken(
            {c: getattr(measure_type, c) for c in ("label", "label_nl", "label_fr")}, None
        )
    db.session.add_all(added)
    db.session.flush()
    for measure_type in added:
        audit.record(
            "measure_type.create",
            actor=actor,
            object_type="measure_type",
            object_id=measure_type.id,
            code=measure_type.code,
        )
    return added


def _refuse_a_name_taken(names: dict[str, str], measure_type: MeasureType | None) -> None:
    """No two types share a name in any language: a partner could not tell them apart."""
    others = select(MeasureType).where(MeasureType.id != (measure_type.id if measure_type else -1))
    for other in db.session.scalars(others):
        for column, name in names.items():
            if name.casefold() == getattr(other, column).casefold():
                raise Refused(
                    _l("Another measure type already has the name %(name)s.", name=name), column
                )


def _new_code(label: str) -> str:
    """A stable code from the English name: what exports and the standard sets use."""
    plain = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    stem = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:32] or "type"
    taken = set(db.session.scalars(select(MeasureType.code)))
    code, n = stem, 1
    while code in taken:
        n += 1
        code = f"{stem}_{n}"
    return code
