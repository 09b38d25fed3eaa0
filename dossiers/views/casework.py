"""Officers' work inside a dossier: persons, assessments, event, approval, measures."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from .. import audit, casework, corrections, documents, events, exports, freshness, measures, names
from ..access import (
    chosen_person,
    dossier_assessment,
    dossier_document,
    dossier_measure,
    dossier_person,
    known_person,
    load_dossier,
    member,
)
from ..clock import today
from ..extensions import db
from ..forms import (
    ApprovalForm,
    AssessmentEditForm,
    AssessmentForm,
    DocumentForm,
    EventChoiceForm,
    EventForm,
    HandOverForm,
    LinkPersonForm,
    MeasureEditForm,
    MeasureForm,
    NoteForm,
    PersonEditForm,
    PersonForm,
    PersonSearchForm,
    ReasonForm,
    WithdrawalForm,
)
from ..labels import options
from ..models import (
    AssessmentSource,
    Dossier,
    MeasureType,
    Organisation,
    Person,
    VipCategory,
)
from ..refusals import Refused
from . import commit, dossier_page, event_fields, measure_choices, reason_read

bp = Blueprint("casework", __name__, url_prefix="/dossiers/<reference>")


def _back(dossier: Dossier):
    return redirect(url_for("dossiers.detail", reference=dossier.reference))


def _person_choices(dossier: Dossier) -> list[SelectChoice]:
    return options([("", _("The whole dossier"))] + [(p.id, p.name) for p in dossier.persons])


def _family_choices(form: PersonForm, dossier: Dossier, person: Person | None = None) -> None:
    form.family_of_id.choices = options(
        [("", _("— (a main person of the dossier)"))]
        + [(p.id, p.name) for p in dossier.persons if p is not person]
    )


def _person_details(form: PersonForm, dossier: Dossier) -> dict:
    return {
        "name": form.name.data or "",
        "function": form.function.data or "",
        "category": VipCategory(form.category.data) if form.category.data else None,
        "country": form.country.data,
        "date_of_birth": form.date_of_birth.data,
        "family_of": chosen_person(dossier, form.family_of_id.data),
        "relation": form.relation.data or "",
    }


@bp.route("/persons", methods=["GET", "POST"])
def persons(reference: str):
    """Find a known person to link, or record a new one."""
    dossier = load_dossier(reference, current_user)
    search = PersonSearchForm(request.args)
    form = PersonForm()
    _family_choices(form, dossier)
    found = None
    if search.validate() and search.q.data and names.searchable(search.q.data):
        found = casework.find_persons(dossier, search.q.data, current_user)
        db.session.commit()
    if form.validate_on_submit() and commit(
        lambda: casework.add_new_person(
            dossier, actor=current_user, **_person_details(form, dossier)
        ),
        _("Person added."),
        field=form.name,
        form=form,
    ):
        return _back(dossier)
    return dossier_page(
        "casework/persons.html",
        dossier,
        form=form,
        search=search,
        found=found,
        link_form=LinkPersonForm(),
    )


@bp.route("/persons/<int:person_id>/edit", methods=["GET", "POST"])
def edit_person(reference: str, person_id: int):
    """Correct a protected person's details; refused if someone changed them meanwhile."""
    dossier = load_dossier(reference, current_user)
    person = dossier_person(dossier, person_id)
    form = PersonEditForm(obj=person)
    _family_choices(form, dossier, person)
    if request.method == "GET":
        form.seen.data = str(freshness.current_seen())
        link = casework.person_links(dossier).get(person.id)
        if link is not None:
            form.family_of_id.data, form.relation.data = link.family_of_id, link.relation

    def save() -> None:
        freshness.check(person, form.version.data, form.seen.data, dossier)
        casework.update_person(
            dossier, person, actor=current_user, **_person_details(form, dossier)
        )

    if form.validate_on_submit() and commit(save, _("Person saved."), field=form.name, form=form):
        return _back(dossier)
    return dossier_page("casework/person_edit.html", dossier, form=form, person=person)


@bp.post("/persons/link")
def link_person(reference: str):
    """Link a person already known to the service."""
    dossier = load_dossier(reference, current_user)
    form = LinkPersonForm()
    person = known_person(form.person_id.data) if form.validate_on_submit() else None
    if person is None:
        flash(_("Choose a person from the search results."), "danger")
        return redirect(url_for("casework.persons", reference=dossier.reference))
    commit(lambda: casework.link_person(dossier, person, current_user), _("Person linked."))
    return _back(dossier)


@bp.post("/persons/<int:person_id>/remove")
def remove_person(reference: str, person_id: int):
    """Take a person out of the dossier (the person stays known)."""
    dossier = load_dossier(reference, current_user)
    if reason_read(ReasonForm()):
        # A person already taken out (a second click) is refused with a message, not a 404.
        person = member(dossier.persons, person_id)
        commit(
            lambda: casework.remove_person(dossier, person, current_user),
            _("Person removed from the dossier."),
        )
    return _back(dossier)


def _assessment_fields(form: AssessmentForm, dossier: Dossier) -> dict:
    """An assessment form's values, as the domain takes them (recorded or corrected)."""
    return {
        "source": AssessmentSource(form.source.data),
        "level": form.level.data,
        "assessed_on": form.assessed_on.data,
        "review_on": form.review_on.data,
        "summary": form.summary.data or "",
        "person": chosen_person(dossier, form.person_id.data),
    }


@bp.route("/assessments/new", methods=["GET", "POST"])
def new_assessment(reference: str):
    """Record a threat assessment."""
    dossier = load_dossier(reference, current_user)
    form = AssessmentForm()
    form.person_id.choices = _person_choices(dossier)
    if request.method == "GET":
        form.assessed_on.data = today()
    if form.validate_on_submit() and commit(
        lambda: casework.record_assessment(
            dossier, **_assessment_fields(form, dossier), actor=current_user
        ),
        _("Threat assessment recorded."),
        field=form.level,
        form=form,
    ):
        return _back(dossier)
    return dossier_page("casework/assessment.html", dossier, form=form)


@bp.route("/assessments/<int:assessment_id>/edit", methods=["GET", "POST"])
def edit_assessment(reference: str, assessment_id: int):
    """Correct an assessment; the timeline keeps what it was."""
    dossier = load_dossier(reference, current_user)
    assessment = dossier_assessment(dossier, assessment_id)
    form = AssessmentEditForm(obj=assessment)
    form.person_id.choices = _person_choices(dossier)
    if request.method == "GET":
        form.source.data = assessment.source.value
        form.seen.data = str(freshness.current_seen())

    def correct() -> None:
        freshness.check(assessment, form.version.data, form.seen.data)
        corrections.correct_assessment(
            assessment, **_assessment_fields(form, dossier), actor=current_user
        )

    if form.validate_on_submit() and commit(
        correct, _("Assessment corrected."), field=form.level, form=form
    ):
        return _back(dossier)
    return dossier_page("casework/assessment.html", dossier, form=form, assessment=assessment)


@bp.route("/assessments/<int:assessment_id>/withdraw", methods=["GET", "POST"])
def withdraw_assessment(reference: str, assessment_id: int):
    """Withdraw a wrong assessment, with its reason: it stays, and stops counting."""
    dossier = load_dossier(reference, current_user)
    assessment = dossier_assessment(dossier, assessment_id)
    return _withdraw(
        dossier,
        assessment,
        lambda reason: corrections.withdraw_assessment(assessment, reason, current_user),
        _("Assessment withdrawn."),
    )


def _withdraw(dossier: Dossier, entry, withdraw, done: str):
    form = WithdrawalForm()
    if request.method == "GET":
        form.version.data, form.seen.data = str(entry.version), str(freshness.current_seen())

    def work() -> None:
        freshness.check(entry, form.version.data, form.seen.data)
        withdraw(form.reason.data or "")

    if form.validate_on_submit() and commit(work, done, field=form.reason, form=form):
        return _back(dossier)
    return dossier_page("casework/withdraw.html", dossier, form=form, entry=entry)


def _event_choices(dossier: Dossier) -> list[SelectChoice]:
    return options(
        [("", _("Choose an event"))]
        + [
            (e.id, f"{e.start_date:%d/%m/%Y} · {e.name} · {e.place}")
            for e in events.events_around(dossier.opened_on.year)
        ]
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
    creating = "create-name" in request.form
    submitted = create if creating else choose

    def set_event() -> None:
        freshness.check(dossier, submitted.version.data, submitted.seen.data)
        if creating:
            chosen = events.save_event(None, **event_fields(create), actor=current_user)
        else:
            chosen = events.known_event(choose.event_id.data)
        casework.set_event(dossier, chosen, current_user)

    if submitted.validate_on_submit() and commit(set_event, _("Event set."), field=choose.event_id):
        return _back(dossier)
    return dossier_page("casework/event.html", dossier, choose=choose, create=create)


@bp.route("/approval", methods=["GET", "POST"])
def approval(reference: str):
    """Record the Minister of the Interior's approval of a VIP dossier's measures."""
    dossier = load_dossier(reference, current_user)
    form = ApprovalForm(obj=dossier)
    if request.method == "GET":
        form.seen.data = str(freshness.current_seen())

    def record() -> None:
        freshness.check(dossier, form.version.data, form.seen.data)
        casework.record_approval(
            dossier,
            on=form.approval_date.data,
            reference=form.approval_reference.data or "",
            actor=current_user,
        )

    if form.validate_on_submit() and commit(
        record, _("Approval recorded."), field=form.approval_reference, form=form
    ):
        return _back(dossier)
    return dossier_page("casework/approval.html", dossier, form=form)


def _measure_fields(
    form: MeasureForm,
    dossier: Dossier,
    types: dict[int, MeasureType],
    partners: dict[int, Organisation],
) -> dict:
    """A measure form's values, as the domain takes them (added or corrected); `types`
    and `partners` are what the form's choices stand for (measure_choices)."""
    return {
        "measure_type": types[form.measure_type_id.data],
        "description": form.description.data or "",
        "organisation": partners[form.organisation_id.data],
        "person": chosen_person(dossier, form.person_id.data),
        "start_date": form.start_date.data,
        "end_date": form.end_date.data,
    }


@bp.route("/measures/new", methods=["GET", "POST"])
def new_measure(reference: str):
    """Add a protection measure for a partner organisation."""
    dossier = load_dossier(reference, current_user)
    form = MeasureForm()
    types, partners = measure_choices(form)
    form.person_id.choices = _person_choices(dossier)
    if request.method == "GET":
        form.start_date.data = today()
    if form.validate_on_submit() and commit(
        lambda: measures.add_measure(
            dossier, **_measure_fields(form, dossier, types, partners), actor=current_user
        ),
        _("Measure added."),
        field=form.measure_type_id,
        form=form,
    ):
        return _back(dossier)
    return dossier_page("casework/measure.html", dossier, form=form)


@bp.post("/measures/<int:measure_id>/lift")
def lift_measure(reference: str, measure_id: int):
    """Lift a measure: it ends today."""
    dossier = load_dossier(reference, current_user)
    form = ReasonForm()

    def lift() -> None:
        measure = member(dossier.measures, measure_id)
        if measure is None:
            raise Refused(_("There is no such measure in this dossier."))
        freshness.check(measure, form.version.data, form.seen.data)
        measures.lift_measure(measure, current_user, today())

    if reason_read(form):
        commit(lift, _("Measure lifted."))
    return _back(dossier)


@bp.route("/measures/<int:measure_id>/edit", methods=["GET", "POST"])
def edit_measure(reference: str, measure_id: int):
    """Correct a measure; a decided one changed in what its partner acts on goes back to
    the partner as requested."""
    dossier = load_dossier(reference, current_user)
    measure = dossier_measure(dossier, measure_id)
    form = MeasureEditForm(obj=measure)
    types, partners = measure_choices(form, keep=measure)
    form.person_id.choices = _person_choices(dossier)
    if request.method == "GET":
        form.seen.data = str(freshness.current_seen())

    def correct() -> None:
        freshness.check(measure, form.version.data, form.seen.data)
        corrections.correct_measure(
            measure, **_measure_fields(form, dossier, types, partners), actor=current_user
        )

    if form.validate_on_submit() and commit(
        correct, _("Measure corrected."), field=form.measure_type_id, form=form
    ):
        return _back(dossier)
    return dossier_page("casework/measure.html", dossier, form=form, measure=measure)


@bp.route("/measures/<int:measure_id>/withdraw", methods=["GET", "POST"])
def withdraw_measure(reference: str, measure_id: int):
    """Withdraw a wrong measure, with its reason: it stays, shown as withdrawn, and its
    partner no longer has it to carry out."""
    dossier = load_dossier(reference, current_user)
    measure = dossier_measure(dossier, measure_id)
    return _withdraw(
        dossier,
        measure,
        lambda reason: corrections.withdraw_measure(measure, reason, current_user),
        _("Measure withdrawn."),
    )


@bp.route("/hand-over", methods=["GET", "POST"])
def hand_over(reference: str):
    """Hand the dossier over to another officer, who becomes its lead officer."""
    dossier = load_dossier(reference, current_user)
    form = HandOverForm()
    candidates = {o.id: o for o in casework.officers()}
    form.officer_id.choices = options(
        [("", _("Choose an officer"))] + [(i, o.full_name) for i, o in candidates.items()]
    )
    if request.method == "GET":
        form.version.data, form.seen.data = str(dossier.version), str(freshness.current_seen())

    def hand() -> None:
        freshness.check(dossier, form.version.data, form.seen.data)
        casework.hand_over(dossier, candidates.get(form.officer_id.data or 0), current_user)

    if form.validate_on_submit() and commit(
        hand, _("Dossier handed over."), field=form.officer_id, form=form
    ):
        return _back(dossier)
    return dossier_page("casework/hand_over.html", dossier, form=form)


@bp.post("/notes")
def add_note(reference: str):
    """Add an internal note (officers only); it shows in the dossier's timeline."""
    dossier = load_dossier(reference, current_user)
    form = NoteForm()
    if form.validate_on_submit():
        commit(
            lambda: casework.add_note(dossier, form.body.data or "", current_user), _("Note added.")
        )
    else:
        for error in form.body.errors:
            flash(error, "danger")
    return redirect(
        url_for("dossiers.detail", reference=dossier.reference, _anchor="timeline-heading")
    )


@bp.route("/documents/new", methods=["GET", "POST"])
def add_document(reference: str):
    """Attach a document (officers only): PDF, an office document or an image."""
    dossier = load_dossier(reference, current_user)
    form = DocumentForm()
    if form.validate_on_submit():
        upload = form.file.data

        def attach() -> None:
            content = documents.read_limited(upload.stream)
            documents.attach(dossier, name=upload.filename, content=content, actor=current_user)

        if commit(attach, _("Document attached."), field=form.file, form=form):
            return redirect(
                url_for("dossiers.detail", reference=dossier.reference, _anchor="documents-heading")
            )
    return dossier_page("casework/document.html", dossier, form=form, accepted=documents.ACCEPTED)


@bp.route("/documents/<int:document_id>/withdraw", methods=["GET", "POST"])
def withdraw_document(reference: str, document_id: int):
    """Withdraw a document attached by mistake, with its reason: its file and name go."""
    dossier = load_dossier(reference, current_user)
    attached = dossier_document(dossier, document_id)
    if attached.withdrawn_at is not None:
        abort(404)
    form = WithdrawalForm()
    if form.validate_on_submit():
        # Done or refused (withdrawn meanwhile, a hold, purged by a retention run), the
        # dossier's page says so: after a refusal the document may be gone.
        commit(
            lambda: documents.withdraw(attached, form.reason.data or "", current_user),
            _("Document withdrawn."),
        )
        return redirect(
            url_for("dossiers.detail", reference=dossier.reference, _anchor="documents-heading")
        )
    return dossier_page(
        "casework/document_withdraw.html",
        dossier,
        form=form,
        document=attached,
        kind_of=documents.kind_of,
    )


@bp.get("/documents/<int:document_id>")
def document(reference: str, document_id: int):
    """Download a document, as an attachment of the type its content is; audited."""
    dossier = load_dossier(reference, current_user)
    attached = dossier_document(dossier, document_id)
    if attached.withdrawn_at is not None:  # its bytes are gone
        abort(404)
    content = documents.download(attached, current_user)
    audit.commit_read()
    stem, extension = documents.download_name(attached)
    return Response(
        content,
        mimetype=attached.media_type,
        headers={
            **exports.attachment(stem, extension),
            "Cache-Control": "no-store",
            # Never rendered in the app's origin, even if a browser were asked to.
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
