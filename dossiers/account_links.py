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
import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from . import audit, notifications
from .accounts import check_new_password, forget_links, replace_password
from .auth import end_all_sessions, normalise_email, token_hash
from .clock import now_utc
from .extensions import db
from .models import AccountToken, AccountTokenPurpose, User, UserSession
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


def _hours(purpose: AccountTokenPurpose) -> int:
    if purpose is AccountTokenPurpose.INVITATION:
        return int(current_app.config["ACCOUNT_LINK_HOURS"])
    return int(current_app.config["PASSWORD_RESET_HOURS"])


def _issue(user: User, purpose: AccountTokenPurpose) -> None:
    """A new link for the user, mailed through the outbox; the older ones stop working."""
    forget_links(user)
    token = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash(token),
            sent_to=user.email,
            expires_at=now_utc() + dt.timedelta(hours=_hours(purpose)),
        )
    )
    notifications.queue_for_user(user, MAIL_KINDS[purpose], link=LINK_PATH, secret=token)


def invite(user: User, actor: User) -> None:
    """Mail the user a link to choose their password (and then set up their second
    factor): an administrator never knows it. Only for an account never used: the link
    also stands for the enrolment code, so it must not reopen an account that had an
    owner (a forgotten password is reset instead; a lost phone, with an enrolment code)."""
    if not user.active:
        raise Refused(_l("This account is disabled: activate it before inviting its user."))
    if not invitable(user):
        raise Refused(
            _l(
                "This user has signed in already: an invitation is for a new account. A "
                "forgotten password is reset from the sign-in page; a lost phone, with an "
                "enrolment code."
            )
        )
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


def invitable(user: User) -> bool:
    """Never signed in, never chose a password, no second factor: an account nobody has
    used yet."""
    signed_in = db.session.scalar(select(UserSession.id).where(UserSession.user_id == user.id))
    return signed_in is None and user.password_chosen_at is None and not user.totp_confirmed_at


def valid_link(token: str) -> AccountToken | None:
    """The unused, unexpired link of an active account with this token, or None."""
    if not token or len(token) > 100:
        return None
    link = db.session.scalar(
        select(AccountToken).where(AccountToken.token_hash == token_hash(token))
    )
    if link is None or link.used_at is not None or link.expires_at <= now_utc():
        return None
    user = link.user
    if not user.active or user.email != link.sent_to:
        return None
    if link.purpose is AccountTokenPurpose.INVITATION and not invitable(user):
        return None
    return link


def set_password(link: AccountToken, *, new: str, confirmation: str) -> User:
    """The holder of the link chooses their password; the link is used up, every open
    session of the account ends, and a reset is confirmed by mail."""
    user = link.user
    check_new_password(user, new, confirmation)
    # Claimed with the row's own conditions: of two submissions racing, or a submission
    # and a newer link, one wins.
    now = now_utc()
    claimed = db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.id == link.id,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Refused(LINK_USED, "new_password")
    # The holder's first password through an invitation is nothing to be told about.
    reset = link.purpose is AccountTokenPurpose.PASSWORD_RESET
    replace_password(user, new, own=True, tell=reset)
    end_all_sessions(user)
    audit.record(
        "user.password_set",
        actor=user,
        object_type="user",
        object_id=user.id,
        purpose=link.purpose.value,
    )
    return user


LINK_USED = _l("This link has been used already. Ask for a new one.")
