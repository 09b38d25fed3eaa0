"""The outbox as an administrator sees it: how many mails wait, went or were given up; the
ones in trouble; a given-up one sent again. And, in development, the development mailbox:
the mails the file backend wrote, read back.

A mail sent again starts over: pending, due at once, its attempts at nought and its time
in the outbox (`created_at`, from which the sender's give-up clock counts) now, so that
it gets the whole NOTIFY_GIVE_UP_HOURS of tries again instead of being given up at its
first failure. The time it first entered the outbox and its attempts so far stay in the
audit event "mail.retry".
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parsedate_to_datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, or_, select

from . import audit
from .account_links import MAIL_KINDS as ONE_TIME_LINK_MAILS
from .clock import now_utc
from .extensions import db
from .keyset import Key
from .models import Notification, NotificationStatus, Organisation, User
from .notifications import mail_folder
from .refusals import Refused


def counts() -> dict[NotificationStatus, int]:
    """How many mails are in each state (read from the sender's index)."""
    found = dict.fromkeys(NotificationStatus, 0)
    rows = db.session.execute(
        select(Notification.status, func.count()).group_by(Notification.status)
    )
    found.update((status, count) for status, count in rows)
    return found


def in_trouble() -> Select:
    """The mails given up and the ones being tried again after a failure, each with its
    recipient's name: the organisation's, or the account's address."""
    return (
        select(Notification, Organisation.name, User.email)
        .outerjoin(Organisation, Organisation.id == Notification.organisation_id)
        .outerjoin(User, User.id == Notification.user_id)
        .where(
            or_(
                Notification.status == NotificationStatus.DEAD,
                and_(Notification.status == NotificationStatus.PENDING, Notification.attempts > 0),
            )
        )
    )


NEWEST_FIRST = (
    Key(Notification.created_at, descending=True),
    Key(Notification.id, descending=True),
)


def retry(row: Notification, actor: User) -> None:
    """Send a given-up mail again: it starts over (see the module's docstring)."""
    if row.status is not NotificationStatus.DEAD:
        raise Refused(_l("Only a mail that was given up can be sent again."))
    if row.kind in ONE_TIME_LINK_MAILS.values():
        # Its token was forgotten when it was given up: the mail would carry a dead link.
        raise Refused(
            _l("This mail carried a one-time link, forgotten when it was given up: send a new one.")
        )
    attempts, queued = row.attempts, row.created_at
    row.status, row.attempts = NotificationStatus.PENDING, 0
    row.created_at = row.next_attempt_at = now_utc()
    audit.record(
        "mail.retry",
        actor=actor,
        object_type="notification",
        object_id=row.id,
        kind=row.kind,
        organisation_id=row.organisation_id,
        user_id=row.user_id,
        attempts=attempts,
        queued_at=queued.isoformat(),
    )


# --- The development mailbox ---------------------------------------------------------------

MAILBOX_SHOWN = 100  # the newest files listed


def mailbox_open() -> bool:
    """Whether there is a development mailbox: mails written to files, and not under the
    production configuration (a mail may hold a one-time link to someone's account)."""
    config = current_app.config
    return config["MAIL_BACKEND"] == "file" and config.get("CONFIG_NAME") != "production"


@dataclass(frozen=True)
class Written:
    """A mail in the development mailbox, as its list shows it."""

    notification_id: int
    date: dt.datetime | None  # as stored times are: UTC without a zone
    to: str
    subject: str


# The name notifications.deliver gives a mail's file: its Message-ID, "@" made "_".
def _file_name(notification_id: int) -> str:
    return f"notification-{notification_id}_{current_app.config['MAIL_ID_DOMAIN']}.eml"


_WRITTEN = re.compile(r"notification-([0-9]{1,10})_.+\.eml")


def written_mails() -> tuple[list[Written], int]:
    """The newest mails the file backend wrote (at most MAILBOX_SHOWN), and how many
    there are."""
    folder = mail_folder()
    files = []
    if folder.is_dir():
        with os.scandir(folder) as entries:
            for entry in entries:
                match = _WRITTEN.fullmatch(entry.name)
                if match and entry.name == _file_name(int(match[1])) and entry.is_file():
                    files.append((entry.stat().st_mtime, int(match[1]), entry.path))
    files.sort(reverse=True)
    return [_listed(number, path) for _, number, path in files[:MAILBOX_SHOWN]], len(files)


def _listed(notification_id: int, path: str) -> Written:
    with open(path, "rb") as file:
        headers = BytesHeaderParser(policy=policy.default).parse(file)
    return Written(
        notification_id,
        _stored(headers["Date"]),
        str(headers["To"] or ""),
        str(headers["Subject"] or ""),
    )


def _stored(date: str | None) -> dt.datetime | None:
    try:
        when = parsedate_to_datetime(str(date)) if date else None
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return when
    return when.astimezone(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Opened:
    """A mail of the development mailbox, read: its headers and plain-text body."""

    sender: str
    to: str
    subject: str
    message_id: str
    date: dt.datetime | None
    body: str


def written_mail(notification_id: int) -> Opened | None:
    """The mail written for this notification, or None. The file's name is made from the
    id alone: nothing else a request sends comes near the file system."""
    path = mail_folder() / _file_name(notification_id)
    try:
        with open(path, "rb") as file:
            message = BytesParser(policy=policy.default).parse(file)
    except OSError:
        return None
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    return Opened(
        sender=str(message["From"] or ""),
        to=str(message["To"] or ""),
        subject=str(message["Subject"] or ""),
        message_id=str(message["Message-ID"] or ""),
        date=_stored(message["Date"]),
        body=part.get_content() if isinstance(part, EmailMessage) else "",
    )


_LINK = re.compile(r"https?://[^\s<>\"']+")


def linked(text: str) -> list[tuple[str, bool]]:
    """A mail's text in pieces, each a web address (True) or not: the template makes the
    addresses links and escapes everything."""
    pieces, start = [], 0
    for match in _LINK.finditer(text):
        pieces += [(text[start : match.start()], False), (match[0], True)]
        start = match.end()
    return [*pieces, (text[start:], False)]
