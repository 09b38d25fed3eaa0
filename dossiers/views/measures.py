"""A police partner's own measures: the list, one measure, its acknowledgement and
execution reports."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from .. import audit, freshness, keyset
from ..access import (
    can_update_measure,
    load_partner_measure,
    partner_event_measures,
    partner_events_page,
    partner_measure_page,
)
from ..clock import today
from ..forms import AcknowledgeForm, MeasureReportForm
from ..inputs import identifier
from ..labels import LABELS, measure_type_name, options
from ..listings import current_levels
from ..measures import PARTNER_STEPS, acknowledge_all, report_on_measure
from ..models import MeasureStatus
from . import commit

bp = Blueprint("measures", __name__, url_prefix="/measures")


@bp.get("/")
def index():
    """List the organisation's current measures, or with ?show=lifted its lifted ones."""
    lifted = request.args.get("show") == "lifted"
    page = partner_measure_page(
        current_user, lifted, after=request.args.get("after"), before=request.args.get("before")
    )
    return render_template(
        "measures/index.html",
        page=page,
        today=today(),
        lifted=lifted,
        args=keyset.filters(),
    )


@bp.get("/events/")
def events():
    """The events at which the organisation has current measures, the latest first."""
    page = partner_events_page(
        current_user, after=request.args.get("after"), before=request.args.get("before")
    )
    return render_template("measures/events.html", page=page, args=keyset.filters())


@bp.route("/events/<int:event_id>", methods=["GET", "POST"])
def event(event_id: int):
    """The organisation's measures at one event; acknowledge the requested ones at once."""
    happening, mine = partner_event_measures(event_id, current_user)
    if request.method == "POST" and AcknowledgeForm().validate_on_submit():
        wanted = {identifier(value) for value in request.form.getlist("measure")}
        chosen = [m for m in mine if m.id in wanted]
        versions = {m.id: request.form.get(f"version-{m.id}", "") for m in chosen}
        if not chosen:
            flash(_("Choose at least one measure."), "danger")
        elif done := commit(
            lambda: acknowledge_all(chosen, versions, request.form.get("seen", ""), current_user)
        ):
            if done.value.done:
                count = len(done.value.done)
                flash(
                    ngettext(
                        "Acknowledged: %(num)d measure.", "Acknowledged: %(num)d measures.", count
                    ),
                    "success",
                )
            for measure, why in done.value.refused:
                name = measure_type_name(measure.measure_type.code, measure.measure_type.label)
                flash(f"{name} ({measure.dossier.reference}): {why}", "warning")
            return redirect(url_for("measures.event", event_id=event_id))
    viewed = audit.record(
        "measure.view",
        actor=current_user,
        object_type="event",
        object_id=happening.id,
        measures=len(mine),
    )
    audit.commit_read()
    return render_template(
        "measures/event.html",
        event=happening,
        measures=mine,
        seen=viewed.sequence,
        requested=MeasureStatus.REQUESTED,
    )


@bp.route("/<int:measure_id>", methods=["GET", "POST"])
def detail(measure_id: int):
    """Show one measure with the context needed to carry it out; take a report."""
    measure = load_partner_measure(measure_id, current_user)
    form = MeasureReportForm()
    steps = PARTNER_STEPS.get(measure.status, ())
    form.status.choices = options((step.value, LABELS[step]) for step in steps)
    if request.method == "GET":
        viewed = audit.record(
            "measure.view",
            actor=current_user,
            object_type="measure",
            object_id=measure.id,
            dossier=measure.dossier,
        )
        audit.commit_read()
        form.version.data, form.seen.data = str(measure.version), str(viewed.sequence)
    elif not can_update_measure(current_user, measure):
        flash(_("This measure is lifted; it cannot be reported on."), "danger")
    elif stale := freshness.refusal(measure, form.version.data, form.seen.data):
        # Before the form's own checks: its choices follow the measure's new status.
        form.status.errors = [stale]
    elif form.validate_on_submit():
        if commit(
            lambda: report_on_measure(
                measure, MeasureStatus(form.status.data), form.note.data or "", current_user
            ),
            _("Report recorded."),
            field=form.status,
        ):
            return redirect(url_for("measures.detail", measure_id=measure.id))
    level = current_levels([measure.dossier_id]).get(measure.dossier_id)
    persons = [measure.person] if measure.person else measure.dossier.persons
    return render_template(
        "measures/detail.html",
        measure=measure,
        form=form,
        level=level,
        persons=persons,
        today=today(),
    )
