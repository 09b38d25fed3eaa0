"""One blueprint per feature, and the one way a view commits or shows a refusal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from .. import audit
from ..extensions import db
from ..labels import measure_type_name, options
from ..models import Dossier, EventKind, Measure, MeasureType, Organisation
from ..reference import active_measure_types, partner_organisations
from ..refusals import Refused


def measure_choices(
    form: Any, keep: Measure | None = None
) -> tuple[dict[int, MeasureType], dict[int, Organisation]]:
    """Fill a form's measure type and partner selects; return what their ids stand for.
    A measure being corrected keeps its own type and partner even when retired since."""
    types, partners = active_measure_types(), partner_organisations()
    if keep is not None:
        types.setdefault(keep.measure_type_id, keep.measure_type)
        partners.setdefault(keep.organisation_id, keep.organisation)
    form.measure_type_id.choices = options(
        [("", _("Choose a type"))]
        + [(i, measure_type_name(t.code, t.label)) for i, t in types.items()]
    )
    form.organisation_id.choices = options(
        [("", _("Choose a partner"))] + [(i, o.name) for i, o in partners.items()]
    )
    return types, partners


def dossier_page(template: str, dossier: Dossier, **context: Any) -> str:
    """A page of one dossier other than its own (a form over it, its persons): it shows
    the dossier's title and persons, so it is recorded as a read of the dossier as the
    dossier's page is, and the access report lists whoever saw it."""
    audit.record(
        "dossier.view",
        actor=current_user,
        object_type="dossier",
        object_id=dossier.id,
        dossier=dossier,
        page=request.endpoint,
    )
    audit.commit_read()
    return render_template(template, dossier=dossier, **context)


def event_fields(form: Any) -> dict[str, Any]:
    """An event form's values, as events.save_event takes them."""
    return {
        "name": form.name.data or "",
        "kind": EventKind(form.kind.data),
        "start_date": form.start_date.data,
        "end_date": form.end_date.data,
        "place": form.place.data or "",
        "host": form.host.data or "",
    }


def reason_read(form: Any) -> bool:
    """Whether a confirmation's reason form could be read; if not, say why."""
    if form.validate_on_submit():
        return True
    flash(_("The reason is too long."), "danger")
    return False


@dataclass(frozen=True)
class Outcome:
    """True when the work was committed; `value` is what it returned."""

    committed: bool
    value: Any = None

    def __bool__(self) -> bool:
        return self.committed


def commit(
    work: Callable[[], Any], done: str | None = None, *, field: Any = None, form: Any = None
) -> Outcome:
    """Do the domain work and commit it, flashing `done`; or, when the rules refuse it,
    roll back and show why: next to the form's field the refusal names, else next to
    `field`, else as a flashed message."""
    try:
        value = work()
    except Refused as refusal:
        db.session.rollback()
        if form is not None and refusal.field is not None and refusal.field in form:
            field = form[refusal.field]
        if field is not None:
            field.errors.append(str(refusal))
        else:
            flash(str(refusal), "danger")
        return Outcome(False)
    db.session.commit()
    if done:
        flash(done, "success")
    return Outcome(True, value)
