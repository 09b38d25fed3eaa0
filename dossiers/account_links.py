"""Single-use links sent by mail: an invitation to a new account (choose a password, then
set up the second factor) and the reset of a forgotten password.

A link's token is 32 random bytes. The database keeps its sha256 (`AccountToken`) and,
until the mail is sent, the token itself sealed in the outbox row; then only the mail
has it. A link is good once and for a limited time; a newer link of the same kind
replaces the older. Opening a link changes nothing (mail scanners open links): only
the form it leads to does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from . import audit, notifications
from .accounts import check_password_strength
from .auth import end_all_sessions, hash_password, normalise_email
from .clock import now_utc
from .extensions import db
from .models import AccountToken, AccountTokenPurpose, User
from .refusals import Refused

# The address a link opens; its token follows. In the query, not the path: the access
# logs (ours and gunicorn's) write paths, never queries.
LINK_PATH = "/account/link?token="
# A second reset mail to one account within this time is not made (a flood of mails
# is the only thing asking again could achieve).
RESET_QUIET_MINUTES = 5

MAIL_KINDS = {
    AccountTokenPurpose.INVITATION: "account.invitation",
    AccountTokenPurpose.PASSWORD_RESET: "account.password_reset",
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _hours(purpose: AccountTokenPurpose) -> int:
    if purpose is AccountTokenPurpose.INVITATION:
        return int(current_app.config["ACCOUNT_LINK_HOURS"])
    return int(current_app.config["PASSWORD_RESET_HOURS"])


def _issue(user: User, purpose: AccountTokenPurpose) -> None:
    """A new link for the user, mailed through the outbox; the older ones stop working."""
    now = now_utc()
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(expires_at=now)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_hash(token),
            expires_at=now + dt.timedelta(hours=_hours(purpose)),
        )
    )
    notifications.queue_for_user(user, MAIL_KINDS[purpose], link=LINK_PATH, secret=token)


def invite(user: User, actor: User) -> None:
    """Mail the user a link to choose their password (and then set up their second
    factor): an administrator never knows it."""
    if not user.active:
        raise Refused(_l("This account is disabled: activate it before inviting its user."))
    _issue(user, AccountTokenPurpose.INVITATION)
    audit.record("user.invite", actor=actor, object_type="user", object_id=user.id)


def request_reset(email: str) -> None:
    """Mail a reset link to the active account with this address, if there is one. The
    caller answers the same whether there is or not."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.active:
        return
    quiet_since = now_utc() - dt.timedelta(minutes=RESET_QUIET_MINUTES)
    recent = db.session.scalar(
        select(AccountToken.id).where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == AccountTokenPurpose.PASSWORD_RESET,
            AccountToken.created_at > quiet_since,
        )
    )
    if recent is not None:
        return
    _issue(user, AccountTokenPurpose.PASSWORD_RESET)
    audit.record("user.password_reset_request", actor=None, object_type="user", object_id=user.id)


def valid_link(token: str) -> AccountToken | None:
    """The unused, unexpired link of an active account with this token, or None."""
    if not token or len(token) > 100:
        return None
    link = db.session.scalar(select(AccountToken).where(AccountToken.token_hash == _hash(token)))
    if link is None or link.used_at is not None or link.expires_at <= now_utc():
        return None
    return link if link.user.active else None


def set_password(link: AccountToken, *, new: str, confirmation: str) -> User:
    """The holder of the link chooses their password; the link is used up, every open
    session of the account ends, and a reset is confirmed by mail."""
    user = link.user
    check_password_strength(new, user.email, user.full_name, field="new_password")
    if new != confirmation:
        raise Refused(_l("The two new passwords are not the same."), "confirmation")
    # Claimed with the row's own condition: of two submissions racing, one wins.
    claimed = db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == link.id, AccountToken.used_at.is_(None))
        .values(used_at=now_utc())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Refused(LINK_USED, "new_password")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    end_all_sessions(user)
    if link.purpose is AccountTokenPurpose.PASSWORD_RESET:
        notifications.queue_for_user(user, "account.password_changed", link="/login")
    audit.record(
        "user.password_set",
        actor=user,
        object_type="user",
        object_id=user.id,
        purpose=link.purpose.value,
    )
    return user


LINK_USED = _l("This link has been used already. Ask for a new one.")
