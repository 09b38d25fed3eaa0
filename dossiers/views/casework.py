"""Officers' work inside a dossier: persons, assessments, event, approval, measures."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from .. import audit, casework, freshness, names
from ..access import load_dossier
from ..casework import RuleBroken
from ..extensions import db
from ..forms import (
    ApprovalForm,
    AssessmentForm,
    EventChoiceForm,
    EventForm,
    LinkPersonForm,
    MeasureForm,
    PersonEditForm,
    PersonForm,
    PersonSearchForm,
    ReasonForm,
)
from ..labels import measure_type_name, options
from ..models import (
    AssessmentSource,
    Dossier,
    Event,
    EventKind,
    Measure,
    MeasureType,
    Organisation,
    OrganisationKind,
    Person,
    VipCategory,
    today,
)

bp = Blueprint("casework", __name__, url_prefix="/dossiers/<reference>")


def _back(dossier: Dossier):
    return redirect(url_for("dossiers.detail", reference=dossier.reference))


def _refused(field, refusal: RuleBroken) -> None:
    db.session.rollback()
    field.errors.append(str(refusal))


def _person_choices(dossier: Dossier) -> list[SelectChoice]:
    return options([("", _("The whole dossier"))] + [(p.id, p.name) for p in dossier.persons])


def _person_details(form: PersonForm) -> dict:
    return {
        "name": form.name.data or "",
        "function": form.function.data or "",
        "category": VipCategory(form.category.data) if form.category.data else None,
        "country": form.country.data,
    }


PERSON_SEARCH_CAP = 1000


@bp.route("/persons", methods=["GET", "POST"])
def persons(reference: str):
    """Find a known person to link, or record a new one."""
    dossier = load_dossier(reference, current_user)
    search = PersonSearchForm(request.args)
    form = PersonForm()
    found: list[Person] = []
    if search.validate() and search.q.data and names.searchable(search.q.data):
        found = list(
            db.session.scalars(
                select(Person)
                .where(Person.id.in_(names.persons_named(search.q.data, PERSON_SEARCH_CAP)))
                .order_by(Person.name)
                .limit(20)
            )
        )
        audit.record(
            "person.search",
            actor=current_user,
            object_type="person",
            object_id=None,
            dossier=dossier,
            results=len(found),
        )
        db.session.commit()
    if form.validate_on_submit():
        try:
            casework.add_new_person(dossier, actor=current_user, **_person_details(form))
        except RuleBroken as refusal:
            _refused(form.name, refusal)
        else:
            db.session.commit()
            flash(_("Person added."), "success")
            return _back(dossier)
    return render_template(
        "casework/persons.html",
        dossier=dossier,
        form=form,
        search=search,
        found=found,
        link_form=LinkPersonForm(),
    )


@bp.route("/persons/<int:person_id>/edit", methods=["GET", "POST"])
def edit_person(reference: str, person_id: int):
    """Correct a protected person's details; refused if someone changed them meanwhile."""
    dossier = load_dossier(reference, current_user)
    person = next((p for p in dossier.persons if p.id == person_id), None)
    if person is None:
        abort(404)
    form = PersonEditForm(obj=person)
    if request.method == "GET":
        form.seen.data = str(freshness.current_seen())
    if form.validate_on_submit():
        try:
            freshness.check(person, form.version.data, form.seen.data, dossier)
            casework.update_person(dossier, person, actor=current_user, **_person_details(form))
        except RuleBroken as refusal:
            _refused(form.name, refusal)
        else:
            db.session.commit()
            flash(_("Person saved."), "success")
            return _back(dossier)
    return render_template("casework/person_edit.html", dossier=dossier, form=form, person=person)


@bp.post("/persons/link")
def link_person(reference: str):
    """Link a person already known to the service."""
    dossier = load_dossier(reference, current_user)
    form = LinkPersonForm()
    person = None
    if form.validate_on_submit() and (form.person_id.data or "").isdigit():
        person = db.session.get(Person, int(form.person_id.data))
    if person is None:
        flash(_("Choose a person from the search results."), "danger")
        return redirect(url_for("casework.persons", reference=dossier.reference))
    try:
        casework.link_person(dossier, person, current_user)
    except RuleBroken as refusal:
        db.session.rollback()
        flash(str(refusal), "danger")
    else:
        db.session.commit()
        flash(_("Person linked."), "success")
    return _back(dossier)


@bp.post("/persons/<int:person_id>/remove")
def remove_person(reference: str, person_id: int):
    """Take a person out of the dossier (the person stays known)."""
    dossier = load_dossier(reference, current_user)
    person = next((p for p in dossier.persons if p.id == person_id), None)
    if person is None or not ReasonForm().validate_on_submit():
        flash(_("This person is not in the dossier."), "danger")
        return _back(dossier)
    try:
        casework.remove_person(dossier, person, current_user)
    except RuleBroken as refusal:
        db.session.rollback()
        flash(str(refusal), "danger")
    else:
        db.session.commit()
        flash(_("Person removed from the dossier."), "success")
    return _back(dossier)


@bp.route("/assessments/new", methods=["GET", "POST"])
def new_assessment(reference: str):
    """Record a threat assessment."""
    dossier = load_dossier(reference, current_user)
    form = AssessmentForm()
    form.person_id.choices = _person_choices(dossier)
    if request.method == "GET":
        form.assessed_on.data = today()
    if form.validate_on_submit():
        person = next((p for p in dossier.persons if p.id == form.person_id.data), None)
        try:
            casework.record_assessment(
                dossier,
                source=AssessmentSource(form.source.data),
                level=form.level.data,
                assessed_on=form.assessed_on.data,
                review_on=form.review_on.data,
                summary=form.summary.data or "",
                person=person,
                actor=current_user,
            )
        except RuleBroken as refusal:
            _refused(form.level, refusal)
        else:
            db.session.commit()
            flash(_("Threat assessment recorded."), "success")
            return _back(dossier)
    return render_template("casework/assessment.html", dossier=dossier, form=form)


def _event_choices(dossier: Dossier) -> list[SelectChoice]:
    year = dossier.opened_on.year
    events = db.session.scalars(
        select(Event)
        .where(
            Event.start_date >= dt.date(year - 1, 1, 1),
            Event.start_date <= dt.date(year + 1, 12, 31),
        )
        .order_by(Event.start_date.desc())
        .limit(300)
    )
    return options(
        [("", _("Choose an event"))]
        + [(e.id, f"{e.start_date:%d/%m/%Y} · {e.name} · {e.place}") for e in events]
    )


@bp.route("/event", methods=["GET", "POST"])
def event(reference: str):
    """Pick the VIP dossier's event, or create it."""
    dossier = load_dossier(reference, current_user)
    choose = EventChoiceForm(prefix="choose")
    choose.event_id.choices = _event_choices(dossier)
    create = EventForm(prefix="create")
    if request.method == "GET":
        choose.event_id.data = dossier.event_id
        for form in (choose, create):
            form.version.data, form.seen.data = str(dossier.version), str(freshness.current_seen())
    chosen = None
    if "choose-event_id" in request.form and choose.validate_on_submit():
        chosen = db.session.get(Event, choose.event_id.data)
        if chosen is None:
            choose.event_id.errors.append(_("Choose an event."))
    elif "create-name" in request.form and create.validate_on_submit():
        try:
            chosen = casework.create_event(
                name=create.name.data or "",
                kind=EventKind(create.kind.data),
                start_date=create.start_date.data,
                end_date=create.end_date.data,
                place=create.place.data or "",
                actor=current_user,
            )
        except RuleBroken as refusal:
            _refused(create.name, refusal)
    if chosen is not None:
        submitted = choose if "choose-event_id" in request.form else create
        try:
            freshness.check(dossier, submitted.version.data, submitted.seen.data)
            casework.set_event(dossier, chosen, current_user)
        except RuleBroken as refusal:
            _refused(choose.event_id, refusal)
        else:
            db.session.commit()
            flash(_("Event set."), "success")
            return _back(dossier)
    return render_template("casework/event.html", dossier=dossier, choose=choose, create=create)


@bp.route("/approval", methods=["GET", "POST"])
def approval(reference: str):
    """Record the Minister of the Interior's approval of a VIP dossier's measures."""
    dossier = load_dossier(reference, current_user)
    form = ApprovalForm(obj=dossier)
    if request.method == "GET":
        form.seen.data = str(freshness.current_seen())
    if form.validate_on_submit():
        try:
            freshness.check(dossier, form.version.data, form.seen.data)
            casework.record_approval(
                dossier,
                on=form.approval_date.data,
                reference=form.approval_reference.data or "",
                actor=current_user,
            )
        except RuleBroken as refusal:
            _refused(form.approval_reference, refusal)
        else:
            db.session.commit()
            flash(_("Approval recorded."), "success")
            return _back(dossier)
    return render_template("casework/approval.html", dossier=dossier, form=form)


@bp.route("/measures/new", methods=["GET", "POST"])
def new_measure(reference: str):
    """Add a protection measure for a partner organisation."""
    dossier = load_dossier(reference, current_user)
    form = MeasureForm()
    types = {
        t.id: t
        for t in db.session.scalars(
            select(MeasureType).where(MeasureType.active).order_by(MeasureType.label)
        )
    }
    partners = {
        o.id: o
        for o in db.session.scalars(
            select(Organisation)
            .where(Organisation.active, Organisation.kind != OrganisationKind.CRISIS_CENTRE)
            .order_by(Organisation.name)
        )
    }
    form.measure_type_id.choices = options(
        [("", _("Choose a type"))]
        + [(i, measure_type_name(t.code, t.label)) for i, t in types.items()]
    )
    form.organisation_id.choices = options(
        [("", _("Choose a partner"))] + [(i, o.name) for i, o in partners.items()]
    )
    form.person_id.choices = _person_choices(dossier)
    if request.method == "GET":
        form.start_date.data = today()
    if form.validate_on_submit():
        measure_type = types.get(form.measure_type_id.data)
        partner = partners.get(form.organisation_id.data)
        person = next((p for p in dossier.persons if p.id == form.person_id.data), None)
        try:
            if measure_type is None or partner is None:
                raise RuleBroken(_("Choose a type and a partner from the lists."))
            casework.add_measure(
                dossier,
                measure_type=measure_type,
                description=form.description.data or "",
                organisation=partner,
                person=person,
                start_date=form.start_date.data,
                end_date=form.end_date.data,
                actor=current_user,
            )
        except RuleBroken as refusal:
            _refused(form.measure_type_id, refusal)
        else:
            db.session.commit()
            flash(_("Measure added."), "success")
            return _back(dossier)
    return render_template("casework/measure.html", dossier=dossier, form=form)


@bp.post("/measures/<int:measure_id>/lift")
def lift_measure(reference: str, measure_id: int):
    """Lift a measure: it ends today."""
    dossier = load_dossier(reference, current_user)
    measure: Measure | None = next((m for m in dossier.measures if m.id == measure_id), None)
    form = ReasonForm()
    if measure is None or not form.validate_on_submit():
        flash(_("There is no such measure in this dossier."), "danger")
        return _back(dossier)
    try:
        freshness.check(measure, form.version.data, form.seen.data)
        casework.lift_measure(measure, current_user, today())
    except RuleBroken as refusal:
        db.session.rollback()
        flash(str(refusal), "danger")
    else:
        db.session.commit()
        flash(_("Measure lifted."), "success")
    return _back(dossier)
