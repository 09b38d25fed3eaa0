"""Administration's records: the audit trail, the access report (who read or changed a
dossier or a person), and the mail outbox with the development mailbox. Routes of the
admin blueprint (views/admin.py), kept apart for length. No dossier contents."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from .. import access_report as reports
from .. import accounts, audit, exports, keyset, outbox
from ..extensions import db
from ..forms import AccessReportForm, AuditFilterForm, Form
from ..labels import ACTIONS, mail_kind, options
from ..models import AuditEvent, Notification
from . import commit
from .admin import bp


def _audit_criteria(actions: dict[str, str]) -> tuple[AuditFilterForm, audit.Criteria]:
    form = AuditFilterForm(request.args)
    form.actor_id.choices = options(
        [("", _("Anyone"))] + [(u.id, u.email) for u in accounts.users_by_email()]
    )
    form.action.choices = options([("", _("Any"))] + sorted(actions.items()))
    if not form.validate():
        return form, audit.Criteria(actor_id=-1)  # show nothing rather than everything
    return form, audit.Criteria(
        actor_id=form.actor_id.data,
        reference=form.reference.data or "",
        action=form.action.data or "",
        outcome=form.outcome.data or "",
        since=form.since.data,
        until=form.until.data,
    )


@bp.get("/audit")
def audit_log():
    """Search the audit trail by user, dossier, action, outcome and date."""
    # Each action's name translated once for the page: fifty rows and the filter show them.
    actions = {code: str(name) for code, name in ACTIONS.items()}
    form, criteria = _audit_criteria(actions)
    page = keyset.window(
        audit.search(criteria),
        (keyset.Key(AuditEvent.sequence, descending=True),),
        after=request.args.get("after"),
        before=request.args.get("before"),
        size=50,
    )
    return render_template(
        "admin/audit.html", form=form, page=page, actions=actions, args=keyset.filters()
    )


@bp.get("/audit.csv")
def audit_csv():
    """Download the matching audit events as CSV, streamed."""
    form, criteria = _audit_criteria({code: str(name) for code, name in ACTIONS.items()})
    audit.record("audit.export", actor=current_user, object_type="audit", object_id=None)
    db.session.commit()
    return Response(
        stream_with_context(exports.csv_stream(audit.csv_rows(criteria))),
        mimetype="text/csv",
        headers=exports.attachment("audit-trail", "csv"),
    )


def _report_subject(shown: str) -> tuple[AccessReportForm, reports.Subject | None, int]:
    """The access report's dossier or person, its making recorded as a read; else the
    form with why not (404 for a reference or a number nothing has)."""
    form = AccessReportForm(request.args)
    if not form.asked or not form.validate():
        return form, None, 200
    made = commit(
        lambda: reports.opened(
            form.reference.data or "", form.person.data or "", current_user, shown
        ),
        form=form,
    )
    return form, made.value, 200 if made else 404


@bp.get("/access-report")
def access_report():
    """Who read or changed a dossier or a person, and when: from the audit trail, without
    the dossier's contents."""
    form, subject, status = _report_subject("page")
    page = None
    if subject is not None:
        page = keyset.window(
            reports.rows(subject),
            reports.NEWEST_FIRST,
            after=request.args.get("after"),
            before=request.args.get("before"),
            size=50,
            counted=reports.counted(subject),
        )
    return render_template(
        "admin/access_report.html",
        form=form,
        subject=subject,
        page=page,
        persons=reports.persons(subject) if subject else [],
        references=reports.references(subject) if subject else [],
        actions={code: str(name) for code, name in ACTIONS.items()},
        args=keyset.filters(),
    ), status


@bp.get("/access-report.csv")
def access_report_csv():
    """Download the access report as CSV, streamed; recorded as a read like the page."""
    _, subject, _ = _report_subject("csv")
    if subject is None:
        abort(404)
    return Response(
        stream_with_context(exports.csv_stream(reports.csv_rows(subject))),
        mimetype="text/csv",
        headers=exports.attachment(f"access-report-{subject.title}", "csv"),
    )


@bp.get("/mail")
def mail():
    """The outbox: how many mails wait, went or were given up; those in trouble."""
    page = keyset.window(
        outbox.in_trouble(),
        outbox.NEWEST_FIRST,
        after=request.args.get("after"),
        before=request.args.get("before"),
        size=50,
    )
    return render_template(
        "admin/mail.html",
        counts=outbox.counts(),
        page=page,
        kind_name=mail_kind,
        mailbox=outbox.mailbox_open(),
        args=keyset.filters(),
    )


@bp.post("/mail/<int:notification_id>/retry")
def retry_mail(notification_id: int):
    """Send a given-up mail again, starting over."""
    row = db.get_or_404(Notification, notification_id)
    if Form().validate_on_submit():
        commit(
            lambda: outbox.retry(row, current_user),
            _("The mail will be sent again at the sender's next round."),
        )
    return redirect(url_for("admin.mail"))


@bp.get("/mailbox")
def mailbox():
    """The development mailbox: the mails written to files, the newest first."""
    if not outbox.mailbox_open():
        abort(404)
    mails, total = outbox.written_mails()
    return render_template("admin/mailbox.html", mails=mails, total=total)


@bp.get("/mailbox/<int:notification_id>")
def mailbox_mail(notification_id: int):
    """One mail of the development mailbox, its links clickable."""
    opened = outbox.written_mail(notification_id) if outbox.mailbox_open() else None
    if opened is None:
        abort(404)
    return render_template(
        "admin/mailbox_mail.html",
        mail=opened,
        notification_id=notification_id,
        pieces=outbox.linked(opened.body),
    )
