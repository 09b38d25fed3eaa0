"""User accounts and organisations, as the administrator and the CLI manage them."""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from zxcvbn import zxcvbn

from . import audit, notifications
from .auth import (
    end_all_sessions,
    end_other_sessions,
    forget_second_factor,
    hash_password,
    must_enrol,
    new_enrolment_code,
    normalise_email,
    password_matches,
)
from .clock import now_utc
from .extensions import db
from .models import AccountToken, Organisation, OrganisationKind, Role, User
from .refusals import Refused

MIN_PASSWORD_LENGTH = 12


def _check(email: str, role: Role, organisation_id: int | None, user: User | None = None) -> None:
    clash = db.session.scalar(select(User.id).where(User.email == email))
    if clash is not None and (user is None or clash != user.id):
        raise Refused(_l("Another account already uses this email."))
    if role is Role.PARTNER and organisation_id is None:
        raise Refused(_l("A police partner belongs to an organisation."))
    if organisation_id is not None and db.session.get(Organisation, organisation_id) is None:
        raise Refused(_l("There is no such organisation."))


def check_password_strength(password: str, *context: str, field: str = "password") -> None:
    """At least 12 characters, not a known common or breached password, and not
    guessable from the account's own name or email (zxcvbn's lists and scoring); a
    refusal names the form's `field`."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Refused(_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), field)
    if password.lower() in _common_passwords():
        raise Refused(_l("This password is on the list of common passwords."), field)
    if zxcvbn(password[:100], user_inputs=[c for c in context if c])["score"] < 3:
        raise Refused(_l("This password is too easy to guess; use more unrelated words."), field)


def check_new_password(user: User, new: str, confirmation: str) -> None:
    """A password its holder chooses: strong enough (next to the form's new_password)
    and typed the same twice."""
    check_password_strength(new, user.email, user.full_name, field="new_password")
    if new != confirmation:
        raise Refused(_l("The two new passwords are not the same."), "confirmation")


@cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def users_page(page: int) -> Any:
    """A page of the accounts by email."""
    return db.paginate(select(User).order_by(User.email), page=page, per_page=50)


def users_by_email() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.email)))


def organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).order_by(Organisation.name)))


def create_user(
    *,
    email: str,
    full_name: str,
    role: Role,
    password: str | None,
    organisation_id: int | None,
    actor: User | None,
) -> User:
    """A new account, with a first password, or with none (password None) for an
    administrator to invite its user by mail (account_links.invite)."""
    email = normalise_email(email)
    _check(email, role, organisation_id)
    if password is not None:
        check_password_strength(password, email, full_name)
    user = User(
        email=email,
        full_name=full_name.strip() or email,
        role=role,
        organisation_id=organisation_id,
        # Invited: a random password nobody knows, until the user chooses theirs.
        password_hash=hash_password(password or secrets.token_urlsafe(32)),
        # An administrator's choice is a first password; the command line's (the first
        # administrator of an installation, or the demo) is the holder's own.
        must_change_password=actor is not None and password is not None,
        password_chosen_at=now_utc() if actor is None and password is not None else None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.create",
        actor=actor,
        object_type="user",
        object_id=user.id,
        role=role.value,
        organisation_id=organisation_id,
        must_change_password=user.must_change_password,
    )
    return user


def update_user(
    user: User,
    *,
    email: str,
    full_name: str,
    role: Role,
    organisation_id: int | None,
    active: bool,
    password: str | None,
    actor: User,
) -> None:
    email = normalise_email(email)
    _check(email, role, organisation_id, user)
    if user.id == actor.id and (role is not Role.ADMIN or not active):
        raise Refused(_l("You cannot remove your own administrator access."))
    if password:
        check_password_strength(password, email, full_name)
        # Set for someone else, it is a first password again; an admin's own is theirs.
        replace_password(user, password, own=user.id == actor.id)
    role_changed, email_changed = user.role is not role, user.email != email
    user.email, user.full_name = email, full_name.strip()
    user.organisation_id, user.active = organisation_id, active
    user.role = role
    if password or not active or role_changed:
        # A new password, a disabled account or a new role ends every open session.
        end_all_sessions(user)
    if not active or role_changed or email_changed:
        # A mailed link was for this person, in this role, at that address: no longer.
        forget_links(user)
    audit.record(
        "user.update",
        actor=actor,
        object_type="user",
        object_id=user.id,
        role=role.value,
        organisation_id=organisation_id,
        active=active,
        password_changed=bool(password),
        must_change_password=user.must_change_password,
    )


def change_password(user: User, *, current: str, new: str, confirmation: str) -> None:
    """The holder's own new password: their current one given again, the same strength
    rules as any password, not the current one, typed twice. It ends their other
    sessions, not this one, and is no longer a first password."""
    if not password_matches(user, current):
        raise Refused(WRONG_CURRENT_PASSWORD, "current_password")
    if new == current:
        raise Refused(_l("Choose a new password, not your current one."), "new_password")
    check_new_password(user, new, confirmation)
    first = user.must_change_password
    replace_password(user, new, own=True)
    end_other_sessions(user)
    audit.record(
        "user.password_change",
        actor=user,
        object_type="user",
        object_id=user.id,
        first_password=first,
    )


WRONG_CURRENT_PASSWORD = _l("This is not your current password.")


def replace_password(user: User, password: str, *, own: bool, tell: bool = True) -> None:
    """The account's new password (checked by the caller): the holder's own choice, or
    a first password someone else set, which the holder replaces at the next sign-in.
    Every mailed link of the account stops working, and the holder is told by mail
    (`tell`: not when they choose their very first password through an invitation)."""
    user.password_hash = hash_password(password)
    user.must_change_password = not own
    user.password_chosen_at = now_utc() if own else None
    forget_links(user)
    if tell:
        notifications.queue_for_user(user, "account.password_changed", link="/login")


def forget_links(user: User) -> None:
    """Every unused link mailed for the account (invitation, reset) stops working."""
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None))
        .values(expires_at=now_utc())
    )


MAIL_LANGUAGES = ("nl", "fr")  # the centre's mails to services: Dutch or French


def save_organisation(
    organisation: Organisation | None,
    *,
    name: str,
    kind: OrganisationKind,
    active: bool,
    actor: User,
    mailbox: str = "",
    language: str = "nl",
) -> Organisation:
    name, mailbox = name.strip(), mailbox.strip()
    if language not in MAIL_LANGUAGES:
        raise Refused(_l("Mails are written in Dutch or French."), "language")
    clash = db.session.scalar(select(Organisation.id).where(Organisation.name == name))
    if clash is not None and (organisation is None or clash != organisation.id):
        raise Refused(_l("Another organisation already has this name."))
    action = "organisation.update"
    if organisation is None:
        organisation = Organisation(name=name, kind=kind, active=active)
        db.session.add(organisation)
        action = "organisation.create"
    organisation.name, organisation.kind, organisation.active = name, kind, active
    organisation.mailbox, organisation.language = mailbox, language
    db.session.flush()
    audit.record(
        action,
        actor=actor,
        object_type="organisation",
        object_id=organisation.id,
        kind=kind.value,
        active=active,
        has_mailbox=bool(mailbox),  # whether, not which: the trail holds no free text
    )
    return organisation


def reset_second_factor(user: User, actor: User | None) -> str | None:
    """Forget the user's authenticator and recovery codes. A role that needs a second
    factor enrols again at the next sign-in, with the enrolment code returned (shown to
    the administrator once); None for a role that does not."""
    forget_second_factor(user)
    end_all_sessions(user)
    notifications.queue_for_user(user, "account.second_factor_reset", link="/login")
    audit.record("user.totp_reset", actor=actor, object_type="user", object_id=user.id)
    return issue_enrolment_code(user, actor) if must_enrol(user) else None


def issue_enrolment_code(user: User, actor: User | None) -> str:
    """A new one-time code for the user's enrolment (the one before stops working)."""
    if not must_enrol(user):
        raise Refused(_l("This user has set up two-factor sign-in already."))
    code = new_enrolment_code(user)
    audit.record("user.enrolment_code", actor=actor, object_type="user", object_id=user.id)
    return code
