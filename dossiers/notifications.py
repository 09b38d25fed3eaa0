"""Mails, through a transactional outbox.

A notification is a row (`Notification`) written by `notify_*` in the caller's
transaction, with the change that causes it: a change rolled back sends nothing, a
change committed is sent even if the mail server is down at that moment. `send_due`
(the `flask notify` command) sends the rows that are due, one per transaction, retrying
with back-off and giving up after NOTIFY_GIVE_UP_HOURS (status `dead`, for an admin).

Guarantee: at least once. On PostgreSQL a row is locked (FOR UPDATE SKIP LOCKED) from
its claim to the commit that marks it sent, so two senders never send it both; a sender
that dies after the mail server accepted the mail and before that commit leaves the row
pending, and it is sent again. SMTP has no way to ask "did you already take this one",
so exactly-once cannot be promised; each mail carries a Message-ID made from its row, so
that a receiving system can drop the duplicate. On SQLite, run one sender.

A mail names no person and describes no measure: the dossier's reference, what happened,
and a link that requires signing in.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from . import audit
from .clock import now_utc
from .extensions import db
from .logs import log
from .models import Dossier, Measure, Notification, NotificationStatus, Organisation, Role, User

SIGN_IN_LINE = _l("Sign in to read it: %(link)s")


@dataclass(frozen=True)
class Mail:
    """What a kind of mail says: a subject and one sentence (both may use the row's
    %(reference)s), the line with its link, and any further lines made from the row
    when it is sent (a digest's list), in the mail's language."""

    subject: LazyString
    sentence: LazyString
    link_line: LazyString = SIGN_IN_LINE
    more_lines: Callable[[Notification], list[str]] | None = None


def _digest_lines(row: Notification) -> list[str]:
    """A digest's lists (scheduled.py makes digests, through this module's queue)."""
    from .scheduled import digest_lines

    return digest_lines(row)


# Every mail the application sends, by kind. A kind is also what the audit trail names.
MAILS: dict[str, Mail] = {
    "measure.decided": Mail(
        _l("New protection measure for your service – %(reference)s"),
        _l(
            "The crisis centre has decided a protection measure for your service in dossier "
            "%(reference)s."
        ),
    ),
    "measure.changed": Mail(
        _l("Protection measure changed – %(reference)s"),
        _l(
            "The crisis centre has changed a protection measure of your service in dossier "
            "%(reference)s: acknowledge it again."
        ),
    ),
    "measure.lifted": Mail(
        _l("Protection measure lifted – %(reference)s"),
        _l(
            "The crisis centre has lifted a protection measure of your service in dossier "
            "%(reference)s."
        ),
    ),
    "measure.withdrawn": Mail(
        _l("Protection measure withdrawn – %(reference)s"),
        _l(
            "The crisis centre has withdrawn a protection measure of your service in dossier "
            "%(reference)s: it no longer has to be carried out."
        ),
    ),
    "measure.reminder": Mail(
        _l("Reminder: protection measure to acknowledge – %(reference)s"),
        _l(
            "A protection measure decided for your service in dossier %(reference)s is still "
            "not acknowledged. Acknowledge it, or tell the crisis centre why it cannot be "
            "carried out."
        ),
    ),
    # A digest's reference is its day; its lists are made from the row's details.
    "digest.officer": Mail(
        _l("Your daily overview – %(reference)s"),
        _l("What waits in the dossiers you lead, on %(reference)s:"),
        _l("Open the dashboard: %(link)s"),
        more_lines=_digest_lines,
    ),
    "digest.duty": Mail(
        _l("Daily overview of the dossiers without a lead officer – %(reference)s"),
        _l("What waits in the dossiers no officer leads, on %(reference)s:"),
        _l("Open the dashboard: %(link)s"),
        more_lines=_digest_lines,
    ),
    "partner.declined": Mail(
        _l("A partner declined a protection measure – %(reference)s"),
        _l(
            "A partner service has declined a protection measure in dossier %(reference)s: "
            "it cannot carry it out. Its reason is in the dossier."
        ),
    ),
    "partner.question": Mail(
        _l("A partner asks about a protection measure – %(reference)s"),
        _l(
            "A partner service has asked a question about a protection measure in dossier "
            "%(reference)s. Its question is in the dossier."
        ),
    ),
    "account.invitation": Mail(
        _l("Your account for the crisis centre's dossiers"),
        _l(
            "An administrator of the crisis centre has opened an account for you. Choose "
            "your password with the link below; it works once, within %(invitation_hours)d "
            "hours. Then you set up your two-factor sign-in if your role needs it."
        ),
        _l("Choose your password: %(link)s"),
    ),
    "account.password_reset": Mail(
        _l("Choose a new password"),
        _l(
            "Someone, probably you, asked for a new password for your account. Choose it "
            "with the link below; it works once, within %(reset_hours)d hours. If it was "
            "not you, ignore this mail: your password stays as it is."
        ),
        _l("Choose a new password: %(link)s"),
    ),
    "account.password_changed": Mail(
        _l("Your password was changed"),
        _l(
            "The password of your account was changed. If it was not you, call the crisis "
            "centre at once."
        ),
        _l("Sign in: %(link)s"),
    ),
    "account.second_factor_reset": Mail(
        _l("Your two-factor sign-in was reset"),
        _l(
            "An administrator has reset the two-factor sign-in of your account: you set it "
            "up again at your next sign-in. If you did not ask for it, call the crisis "
            "centre at once."
        ),
        _l("Sign in: %(link)s"),
    ),
}

# The languages a mail can be written in; a user without one gets the first.
MAIL_LANGUAGES = ("nl", "fr", "en")


def queue(
    kind: str,
    *,
    address: str,
    language: str,
    reference: str = "",
    link: str = "",
    organisation_id: int | None = None,
    user_id: int | None = None,
    details: str = "",
    secret: str | None = None,
    dedupe_key: str | None = None,
) -> Notification | None:
    """Put a mail in the outbox, in the caller's transaction. With a `dedupe_key`, a
    mail made already (by this or another sender) wins: None, and nothing is added."""
    assert kind in MAILS, kind
    row = Notification(
        kind=kind,
        address=address,
        language=language if language in MAIL_LANGUAGES else MAIL_LANGUAGES[0],
        reference=reference,
        link=link,
        organisation_id=organisation_id,
        user_id=user_id,
        details=details,
        secret=secret,
        dedupe_key=dedupe_key,
    )
    if dedupe_key is None:
        db.session.add(row)
        return row
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None
    return row


def queue_for_user(user: User, kind: str, **fields: Any) -> Notification | None:
    """A mail to a person's own account, in their language; without one, in their
    service's (a partner invited before they ever chose a language)."""
    language = user.language or (user.organisation.language if user.organisation else "")
    return queue(kind, address=user.email, language=language, user_id=user.id, **fields)


# The duty mailbox is the crisis centre's: its mails are in the centre's first language.
DUTY_LANGUAGE = "nl"


def mailed_officers() -> Select[User]:
    """The accounts that get a dossier's mail as its lead: active officers. A lead who
    is not (disabled, or moved to another role) is as no lead: the duty mailbox."""
    return select(User).where(User.role == Role.OFFICER, User.active.is_(True))


def reads_as_lead(user: User | None) -> bool:
    """`mailed_officers`, for one account."""
    return user is not None and user.active and user.role is Role.OFFICER


def queue_for_duty(kind: str, **fields: Any) -> Notification | None:
    """A mail to the duty mailbox, if the installation has one."""
    duty = current_app.config["DUTY_MAILBOX"]
    return queue(kind, address=duty, language=DUTY_LANGUAGE, **fields) if duty else None


def queue_for_lead(dossier: Dossier, kind: str, **fields: Any) -> Notification | None:
    """A mail about the dossier to its lead officer, else to the duty mailbox."""
    if reads_as_lead(dossier.lead_officer):
        assert dossier.lead_officer is not None
        return queue_for_user(dossier.lead_officer, kind, **fields)
    return queue_for_duty(kind, **fields)


def notify_partner(measure: Measure, kind: str, organisation: Organisation | None = None) -> None:
    """Tell the measure's service (or `organisation`, one it was taken from) what happened
    to a decided measure; a service without a mailbox is not told."""
    service = organisation or measure.organisation
    if measure.decided_at is None or not service.mailbox:
        return
    # A measure still the service's opens on its page; one taken away, on their list.
    current = kind in ("measure.decided", "measure.changed") and organisation is None
    queue(
        kind,
        address=service.mailbox,
        language=service.language,
        reference=measure.dossier.reference,
        link=f"/measures/{measure.id}" if current else "/measures/",
        organisation_id=service.id,
    )


# --- Sending ----------------------------------------------------------------------------


def _message(row: Notification) -> EmailMessage:
    config = current_app.config
    mail = MAILS[row.kind]
    with force_locale(row.language):
        values = {
            "reference": row.reference,
            "invitation_hours": config["ACCOUNT_LINK_HOURS"],
            "reset_hours": config["PASSWORD_RESET_HOURS"],
        }
        link = config["PUBLIC_URL"].rstrip("/") + row.link + (row.secret or "")
        lines = [str(mail.sentence % values)]
        lines += mail.more_lines(row) if mail.more_lines else []
        lines += [
            str(mail.link_line % {"link": link}),
            str(_l("This mail carries no personal data. Do not answer it.")),
            str(_l("National Crisis Center")),
        ]
        message = EmailMessage()
        message["Subject"] = str(mail.subject % values)
    message["From"] = config["MAIL_SENDER"]
    message["To"] = row.address
    message["Date"] = format_datetime(now_utc().replace(tzinfo=dt.UTC))
    # The same for every attempt: a receiving system can drop a mail sent twice.
    message["Message-ID"] = f"<notification-{row.id}@{config['MAIL_ID_DOMAIN']}>"
    message.set_content("\n\n".join(lines))
    return message


def mail_folder() -> Path:
    """Where the file backend writes its mails (development): MAIL_FOLDER or
    instance/mail. Each is named from its Message-ID: notification-<id>_<MAIL_ID_DOMAIN>.eml."""
    config = current_app.config
    return Path(config["MAIL_FOLDER"] or Path(current_app.instance_path) / "mail")


def deliver(message: EmailMessage) -> None:
    """Hand a mail to the configured transport; raise on failure."""
    config = current_app.config
    if config["MAIL_BACKEND"] == "file":
        folder = mail_folder()
        folder.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").replace("@", "_") + ".eml"
        (folder / name).write_bytes(bytes(message))
        return
    security = config["MAIL_SECURITY"]
    context = ssl.create_default_context()
    host, port = config["MAIL_HOST"], config["MAIL_PORT"]
    smtp = (
        smtplib.SMTP_SSL(host, port, timeout=30, context=context)
        if security == "tls"
        else smtplib.SMTP(host, port, timeout=30)
    )
    with smtp:
        if security == "starttls":
            smtp.starttls(context=context)
        if config["MAIL_USER"]:
            smtp.login(config["MAIL_USER"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=min(2 ** (attempts - 1), 60))


def _claim() -> Notification | None:
    query = (
        select(Notification)
        .where(
            Notification.status == NotificationStatus.PENDING,
            Notification.next_attempt_at <= now_utc(),
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(1)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.scalar(query)


def send_due(limit: int = 500) -> tuple[int, int]:
    """Send the notifications that are due, each in its own transaction; return how many
    were sent and how many failed this time."""
    sent = failed = 0
    for _ in range(limit):
        row = _claim()
        if row is None:
            break
        try:
            deliver(_message(row))
        except Exception as error:  # noqa: BLE001 - one mail's fault must not stop the others
            # A refusing server, but also a row that cannot be written (a sealing key
            # dropped too early): retried and given up like any failure, never blocking
            # the mails behind it.
            log.warning(
                "mail not sent",
                extra={"notification": row.id, "error": type(error).__name__},
            )
            failed += 1
            row.attempts += 1
            row.last_error = f"{type(error).__name__}: {error}"[:200]
            give_up = row.created_at + dt.timedelta(
                hours=current_app.config["NOTIFY_GIVE_UP_HOURS"]
            )
            if now_utc() >= give_up:
                row.status, row.secret = NotificationStatus.DEAD, None
                audit.record(
                    "mail.dead",
                    actor=None,
                    object_type="notification",
                    object_id=row.id,
                    outcome="failed",
                    kind=row.kind,
                    organisation_id=row.organisation_id,
                    attempts=row.attempts,
                )
            else:
                row.next_attempt_at = now_utc() + _backoff(row.attempts)
        else:
            sent += 1
            row.attempts += 1
            row.status, row.sent_at = NotificationStatus.SENT, now_utc()
            row.secret = None  # the link's token lives on only in the mail
            audit.record(
                "mail.sent",
                actor=None,
                object_type="notification",
                object_id=row.id,
                kind=row.kind,
                organisation_id=row.organisation_id,
                user_id=row.user_id,
                # Neither a service nor an account: the duty mailbox.
                duty_mailbox=row.organisation_id is None and row.user_id is None,
            )
        db.session.commit()
    return sent, failed
