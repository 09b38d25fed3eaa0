"""Officers plan events (summits, councils, visits) and follow each one's delegations,
VIPs, measures and coverage on the event's own page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from .. import audit, casework, delegations, events, keyset, measures, workflow
from ..clock import today
from ..extensions import db
from ..forms import (
    DelegationForm,
    DelegationsStepForm,
    EventApprovalForm,
    EventFilterForm,
    EventPlanForm,
    ReasonForm,
    StandardMeasureForm,
)
from ..inputs import FIRST_DAY, LAST_DAY, identifier
from ..labels import options
from ..models import Event, EventKind, StandardMeasure, VipCategory
from ..refusals import Outcomes, Refused
from . import commit, event_fields, measure_choices

bp = Blueprint("events", __name__, url_prefix="/events")


@bp.get("/")
def index():
    """Events not yet over, the soonest first; then the past, a page at a time."""
    form = EventFilterForm(request.args)
    criteria = events.EventFilter()
    if form.validate():
        criteria = events.EventFilter(
            kind=EventKind(form.kind.data) if form.kind.data else None, year=form.year.data
        )
    now = today()
    return render_template(
        "events/index.html",
        form=form,
        upcoming=events.upcoming(criteria, now),
        limit=events.UPCOMING_LIMIT,
        past=keyset.window(
            events.past(criteria, now),
            events.PAST_ORDER,
            after=request.args.get("after"),
            before=request.args.get("before"),
        ),
        args=keyset.filters(),
        month=(now.year, now.month),
    )


@bp.get("/month/<int:year>/<int:month>")
def month(year: int, month: int):
    """The events on at least one day of a month."""
    if not (FIRST_DAY.year <= year <= LAST_DAY.year and 1 <= month <= 12):
        abort(404)
    before, after = events.months_around(year, month)
    return render_template(
        "events/month.html",
        year=year,
        month=month,
        events=events.in_month(year, month),
        before=before if before[0] >= FIRST_DAY.year else None,
        after=after if after[0] <= LAST_DAY.year else None,
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Plan an event."""
    return _event_form(None)


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
def edit(event_id: int):
    """Change an event's kind, name, place, dates or host."""
    return _event_form(db.get_or_404(Event, event_id))


def _event_form(event: Event | None):
    form = EventPlanForm(obj=event)
    if form.validate_on_submit() and (
        saved := commit(
            lambda: events.save_event(event, **event_fields(form), actor=current_user),
            _("Event saved."),
            field=form.end_date,
        )
    ):
        return redirect(url_for("events.detail", event_id=saved.value.id))
    return render_template("events/form.html", form=form, event=event)


@bp.route("/standard-measures", methods=["GET", "POST"])
def standard_measures():
    """The standard measure sets, per VIP category; officers add and remove lines."""
    form = StandardMeasureForm()
    types, partners = measure_choices(form)
    if form.validate_on_submit() and commit(
        lambda: measures.add_standard(
            VipCategory(form.category.data),
            types[form.measure_type_id.data],
            partners[form.organisation_id.data],
            current_user,
        ),
        _("Added to the set."),
        field=form.organisation_id,
    ):
        return redirect(url_for("events.standard_measures"))
    return render_template(
        "events/standard_measures.html", form=form, sets=measures.standard_sets()
    )


@bp.post("/standard-measures/<int:line_id>/remove")
def remove_standard_measure(line_id: int):
    """Remove one line of a category's set (measures already given stay as they are)."""
    line = db.get_or_404(StandardMeasure, line_id)
    if not ReasonForm().validate_on_submit():
        abort(400)
    commit(lambda: measures.remove_standard(line, current_user), _("Removed from the set."))
    return redirect(url_for("events.standard_measures"))


@bp.post("/<int:event_id>/standard-measures")
def apply_standard_measures(event_id: int):
    """Give every VIP of the event's open delegations their category's standard set."""
    event = db.get_or_404(Event, event_id)
    if not ReasonForm().validate_on_submit():
        abort(400)
    applied = commit(lambda: events.apply_standard_sets(event, current_user))
    if applied:
        for dossier, added in applied.value.done:
            flash(
                ngettext(
                    "%(ref)s: %(num)d standard measure added.",
                    "%(ref)s: %(num)d standard measures added.",
                    added,
                    ref=dossier.reference,
                ),
                "success",
            )
        for dossier, why in applied.value.refused:
            flash(f"{dossier.reference}: {why}", "warning")
    return redirect(url_for("events.detail", event_id=event.id))


@bp.route("/<int:event_id>/delegations/new", methods=["GET", "POST"])
def new_delegation(event_id: int):
    """A whole delegation at once: paste or upload its list, see every line checked and
    matched, correct it, then create the dossier and its persons in one step."""
    event = db.get_or_404(Event, event_id)
    form = DelegationForm()  # a body above inputs.BODY_LIMITS was refused with a 413
    reading = None
    if form.validate_on_submit():
        upload = form.upload.data
        if upload and getattr(upload, "filename", ""):
            try:
                form.listing.data = delegations.text_of_file(upload.read(), upload.filename or "")
            except Refused as refusal:
                form.upload.errors = [str(refusal)]
        if not form.upload.errors:
            reading = delegations.read(form.listing.data or "", event)
            if reading.error:
                form.listing.errors = [reading.error]
            elif "create" in request.form and reading.ready:
                matches = {
                    row.number: request.form.get(f"match-{row.number}", "") for row in reading.rows
                }
                created = commit(
                    lambda: delegations.create_delegation(
                        event, form.title.data or "", reading, matches, current_user
                    ),
                    field=form.title,
                )
                if created:
                    flash(
                        _(
                            "%(ref)s created with %(n)d persons.",
                            ref=created.value.reference,
                            n=len(reading.rows),
                        ),
                        "success",
                    )
                    return redirect(url_for("events.detail", event_id=event.id))
    if shown := reading.shown_persons if reading else []:
        # The preview shows each known person of a listed name with their function and
        # country: a search, read person by person.
        casework.record_search(shown, current_user, event_id=event.id)
        audit.commit_read()
    return render_template(
        "events/delegation.html",
        event=event,
        form=form,
        reading=reading,
        proposed=delegations.proposed_match,
    )


@bp.get("/<int:event_id>")
def detail(event_id: int):
    """The event: its delegations, every VIP with their measures, who is unprotected."""
    return _page(db.get_or_404(Event, event_id))


def _page(
    event: Event,
    approval: EventApprovalForm | None = None,
    step: DelegationsStepForm | None = None,
    status: int = 200,
):
    seen = events.overview(event)
    audit.record(
        "event.view",
        actor=current_user,
        object_type="event",
        object_id=event.id,
        vips=len(seen.vips),
    )
    audit.commit_read()
    return (
        render_template(
            "events/detail.html",
            overview=seen,
            event=event,
            approval=approval or EventApprovalForm(formdata=None),
            step=step or _step_form(formdata=None),
        ),
        status,
    )


def _step_form(**kwargs) -> DelegationsStepForm:
    form = DelegationsStepForm(**kwargs)
    form.name.choices = options(
        [("", _("Choose a step"))]
        + [(name, rule.label) for name, rule in workflow.TRANSITIONS.items()]
    )
    return form


def _say(outcomes: Outcomes, done: str) -> None:
    if outcomes.done:
        flash(done + " " + ", ".join(d.reference for d in outcomes.done), "success")
    for dossier, why in outcomes.refused:
        flash(f"{dossier.reference}: {why}", "warning")


@bp.post("/<int:event_id>/approval")
def approval(event_id: int):
    """Record the Minister's approval once for the event's delegations."""
    event = db.get_or_404(Event, event_id)
    form = EventApprovalForm()
    if form.validate_on_submit():
        recorded = commit(
            lambda: events.record_event_approval(
                event,
                on=form.approval_date.data,
                reference=form.approval_reference.data or "",
                actor=current_user,
            ),
            field=form.approval_reference,
            form=form,
        )
        if recorded:
            _say(recorded.value, _("Approval recorded for:"))
            return redirect(url_for("events.detail", event_id=event.id))
    return _page(event, approval=form)


@bp.post("/<int:event_id>/step")
def step(event_id: int):
    """One workflow step for the chosen delegations; each checked and refused alone."""
    event = db.get_or_404(Event, event_id)
    form = _step_form()
    chosen = {
        found: request.form.get(f"version-{found}", "")
        for value in request.form.getlist("dossier")
        if (found := identifier(value)) is not None
    }
    if form.validate_on_submit():
        if not chosen:
            form.name.errors.append(_("Choose at least one delegation."))
        elif moved := commit(
            lambda: events.transition_delegations(
                event, form.name.data or "", chosen, current_user, form.reason.data or ""
            )
        ):
            label = workflow.TRANSITIONS[form.name.data or ""].label
            _say(moved.value, _("Done (%(label)s):", label=label))
            return redirect(url_for("events.detail", event_id=event.id))
    return _page(event, step=form)
