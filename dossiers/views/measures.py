"""A police partner's own measures: the list, one measure, its acknowledgement and
execution reports."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from .. import audit, freshness, keyset, partner_messages
from ..access import (
    can_update_measure,
    is_new_to,
    load_partner_measure,
    partner_event_measures,
    partner_events_page,
    partner_measure_page,
    partner_new_count,
)
from ..clock import today
from ..forms import AcknowledgeForm, MeasureMessageForm, MeasureReportForm
from ..inputs import identifier
from ..labels import LABELS, measure_type_name, options
from ..listings import current_levels
from ..measures import PARTNER_STEPS, acknowledge_all, report_on_measure
from ..models import Measure, MeasureMessageKind, MeasureStatus
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
        new=0 if lifted else partner_new_count(current_user),
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
        new={m.id for m in mine if is_new_to(current_user, m)},
    )


@bp.route("/<int:measure_id>", methods=["GET", "POST"])
def detail(measure_id: int):
    """Show one measure with the context needed to carry it out; take a report."""
    measure = load_partner_measure(measure_id, current_user)
    form = _report_form(measure)
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
    return _page(measure, form, MeasureMessageForm(formdata=None))


@bp.post("/<int:measure_id>/message")
def message(measure_id: int):
    """Decline the measure or ask the crisis centre about it, with a reason."""
    measure = load_partner_measure(measure_id, current_user)
    form = MeasureMessageForm()
    if form.validate_on_submit() and commit(
        lambda: partner_messages.send(
            measure, MeasureMessageKind(form.kind.data), form.reason.data or "", current_user
        ),
        _("Your message has gone to the crisis centre."),
        form=form,
    ):
        return redirect(url_for("measures.detail", measure_id=measure.id, _anchor="messages"))
    return _page(measure, _report_form(measure, fresh=True), form)


def _report_form(measure: Measure, fresh: bool = False) -> MeasureReportForm:
    """The report form, its choices the next steps from the measure's status; `fresh`:
    not read from this request (another form was sent), carrying the version shown."""
    form = MeasureReportForm(formdata=None) if fresh else MeasureReportForm()
    steps = PARTNER_STEPS.get(measure.status, ())
    form.status.choices = options((step.value, LABELS[step]) for step in steps)
    if fresh:
        form.version.data, form.seen.data = str(measure.version), str(freshness.current_seen())
    return form


def _page(measure: Measure, form: MeasureReportForm, message_form: MeasureMessageForm):
    level = current_levels([measure.dossier_id]).get(measure.dossier_id)
    persons = [measure.person] if measure.person else measure.dossier.persons
    return render_template(
        "measures/detail.html",
        measure=measure,
        form=form,
        message_form=message_form,
        messages=partner_messages.of_service(measure, current_user),
        level=level,
        persons=persons,
        today=today(),
    )
