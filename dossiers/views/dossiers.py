"""Officers' dossiers: the list, opening one, reading one, moving it."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from .. import (
    audit,
    casework,
    corrections,
    documents,
    exports,
    freshness,
    keyset,
    partner_messages,
    queries,
    retention,
    workflow,
)
from ..access import dossier_message, load_dossier, who_can_see
from ..clock import moment, today
from ..forms import DossierFilterForm, DossierForm, NoteForm, ReasonForm
from ..listings import (
    DOSSIER_ORDER,
    DossierFilter,
    current_levels,
    dossier_list,
)
from ..models import DossierKind, DossierState, ThreatGround
from . import commit, dossier_page, reason_read

bp = Blueprint("dossiers", __name__, url_prefix="/dossiers")


@bp.get("/")
def index():
    """List dossiers, filtered and paginated."""
    form = DossierFilterForm(request.args)
    criteria = DossierFilter()
    if form.validate():
        criteria = DossierFilter(
            q=form.q.data or "",
            kind=DossierKind(form.kind.data) if form.kind.data else None,
            state=DossierState(form.state.data) if form.state.data else None,
            year=form.year.data,
            level=form.level.data,
            lead_officer_id=current_user.id if form.mine.data else None,
            review_due_by=today() if form.review_due.data else None,
        )
    page = keyset.window(
        dossier_list(criteria),
        DOSSIER_ORDER,
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    levels = current_levels(d.id for d in page.items)
    return render_template(
        "dossiers/index.html",
        form=form,
        page=page,
        levels=levels,
        persons=queries.persons_preview(d.id for d in page.items),
        preview=queries.PREVIEW,
        args=keyset.filters(),
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Open a dossier at intake."""
    form = DossierForm()
    if request.method == "GET":
        form.opened_on.data = today()
    if form.validate_on_submit() and (
        opened := commit(
            lambda: casework.create_dossier(
                kind=DossierKind(form.kind.data),
                title=form.title.data or "",
                opened_on=form.opened_on.data,
                actor=current_user,
                ground=ThreatGround(form.ground.data) if form.ground.data else None,
            ),
            field=form.opened_on,
            form=form,
        )
    ):
        reference = opened.value.reference
        flash(_("Dossier %(ref)s opened.", ref=reference), "success")
        return redirect(url_for("dossiers.detail", reference=reference))
    return render_template("dossiers/new.html", form=form)


@bp.get("/<reference>")
def detail(reference: str):
    """Show a dossier with its persons, assessments, measures and timeline."""
    dossier = load_dossier(reference, current_user)
    viewed = audit.record(
        "dossier.view",
        actor=current_user,
        object_type="dossier",
        object_id=dossier.id,
        dossier=dossier,
    )
    audit.commit_read()
    messages = partner_messages.of_dossier(dossier)
    return render_template(
        "dossiers/detail.html",
        dossier=dossier,
        today=today(),
        messages=partner_messages.by_measure(messages),
        message_by_id={m.id: m for m in messages},
        declined=partner_messages.declined_measures(messages),
        history=audit.dossier_history(dossier),
        visibility=who_can_see(dossier),
        # Everything up to this page's own audit event is what the page shows.
        seen=viewed.sequence,
        transitions=workflow.transitions_by_id(dossier),
        checklist=workflow.checklist(dossier),
        described=corrections.described,
        notes=casework.notes_by_id(dossier),
        links=casework.person_links(dossier),
        note_form=NoteForm(),
        documents=documents.of_dossier(dossier),
        kind_of=documents.kind_of,
        retention=retention.standing(dossier),
    )


def css_string(text: str) -> Markup:
    """Text for a CSS string in the page's style element (the print's running footer): its
    backslashes and quotes escaped for CSS, nothing that could end the element."""
    escaped = "".join(f"\\{ord(c):x} " if c in '\\"<>&\n\r' else c for c in text)
    # Safe: every character that could end the string or the element is escaped above.
    return Markup(escaped)  # nosec B704


@bp.get("/<reference>/print", endpoint="print")
def print_dossier(reference: str):
    """The dossier as a PDF for the officer, marked restricted, with who printed it and
    when; the print is recorded in the audit trail as a read."""
    dossier = load_dossier(reference, current_user)
    printed = audit.record(
        "dossier.print",
        actor=current_user,
        object_type="dossier",
        object_id=dossier.id,
        dossier=dossier,
    )
    audit.commit_read()
    notes = casework.notes_by_id(dossier)
    printed_by = _(
        "printed on %(at)s by %(name)s", at=moment(printed.at), name=current_user.full_name
    )
    footer = f"{_('RESTRICTED')} · {dossier.reference} · {printed_by}"
    html = render_template(
        "dossiers/print.html",
        dossier=dossier,
        printed_at=printed.at,
        footer=css_string(footer),
        notes=sorted(notes.values(), key=lambda note: (note.at, note.id)),
        links=casework.person_links(dossier),
        documents=documents.of_dossier(dossier),
        kind_of=documents.kind_of,
    )
    return Response(
        exports.pdf_bytes(html, request.url_root),
        mimetype="application/pdf",
        headers={**exports.attachment(dossier.reference, "pdf"), "Cache-Control": "no-store"},
    )


@bp.post("/<reference>/messages/<int:message_id>/handled")
def message_handled(reference: str, message_id: int):
    """Mark a partner's message on one of the dossier's measures as dealt with."""
    dossier = load_dossier(reference, current_user)
    message = dossier_message(dossier, message_id)
    commit(
        lambda: partner_messages.mark_handled(dossier, message, current_user),
        _("The message is marked as dealt with."),
    )
    anchor = f"measure-{message.measure_id}"
    return redirect(url_for("dossiers.detail", reference=dossier.reference, _anchor=anchor))


@bp.post("/<reference>/transition/<name>")
def transition(reference: str, name: str):
    """Fire a workflow transition; a refusal says why and changes nothing."""
    dossier = load_dossier(reference, current_user)
    if name not in workflow.TRANSITIONS:
        abort(404)
    form = ReasonForm()
    if not reason_read(form):
        return redirect(url_for("dossiers.detail", reference=dossier.reference))

    def move() -> None:
        freshness.check(dossier, form.version.data, form.seen.data)
        workflow.transition(dossier, name, current_user, form.reason.data or "")

    commit(move, _("Done: %(label)s.", label=workflow.TRANSITIONS[name].label))
    return redirect(url_for("dossiers.detail", reference=dossier.reference))


@bp.route("/<reference>/legal-hold", methods=["GET", "POST"])
def legal_hold(reference: str):
    """Place a legal hold: the dossier's personal data is kept whatever the retention
    rules, for the reason given."""
    return _hold(reference, lifting=False)


@bp.route("/<reference>/legal-hold/lift", methods=["GET", "POST"])
def lift_legal_hold(reference: str):
    """Lift the legal hold, with its reason: the retention rules apply again."""
    return _hold(reference, lifting=True)


def _hold(reference: str, lifting: bool):
    dossier = load_dossier(reference, current_user)
    act = retention.lift_hold if lifting else retention.place_hold
    form = ReasonForm()
    form.reason.label.text = (
        _("Reason for lifting the legal hold") if lifting else _("Reason for a legal hold")
    )
    if request.method == "GET":
        form.version.data, form.seen.data = str(dossier.version), str(freshness.current_seen())

    def work() -> None:
        freshness.check(dossier, form.version.data, form.seen.data)
        act(dossier, form.reason.data or "", current_user)

    done = _("Legal hold lifted.") if lifting else _("Legal hold placed.")
    if form.validate_on_submit() and commit(work, done, field=form.reason, form=form):
        return redirect(
            url_for("dossiers.detail", reference=dossier.reference, _anchor="retention-heading")
        )
    return dossier_page("dossiers/legal_hold.html", dossier, form=form, lifting=lifting)
