"""User accounts and organisations, as the administrator and the CLI manage them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from . import audit
from .auth import hash_password, normalise_email
from .extensions import db
from .models import Organisation, OrganisationKind, Role, User, UserSession, now_utc

MIN_PASSWORD_LENGTH = 12


class AccountRefused(Exception):
    """An account change the rules refuse; its message says why."""


def _check(email: str, role: Role, organisation_id: int | None, user: User | None = None) -> None:
    clash = db.session.scalar(select(User.id).where(User.email == email))
    if clash is not None and (user is None or clash != user.id):
        raise AccountRefused(_l("Another account already uses this email."))
    if role is Role.PARTNER and organisation_id is None:
        raise AccountRefused(_l("A police partner belongs to an organisation."))
    if organisation_id is not None and db.session.get(Organisation, organisation_id) is None:
        raise AccountRefused(_l("There is no such organisation."))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountRefused(_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))


def create_user(
    *,
    email: str,
    full_name: str,
    role: Role,
    password: str,
    organisation_id: int | None,
    actor: User | None,
) -> User:
    email = normalise_email(email)
    _check(email, role, organisation_id)
    _check_password(password)
    user = User(
        email=email,
        full_name=full_name.strip() or email,
        role=role,
        organisation_id=organisation_id,
        password_hash=hash_password(password),
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
        raise AccountRefused(_l("You cannot remove your own administrator access."))
    if password:
        _check_password(password)
        user.password_hash = hash_password(password)
    user.email, user.full_name, user.role = email, full_name.strip(), role
    user.organisation_id, user.active = organisation_id, active
    if password or not active:
        # A changed password or a disabled account ends every open session.
        db.session.execute(
            update(UserSession)
            .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
            .values(revoked_at=now_utc())
        )
    audit.record(
        "user.update",
        actor=actor,
        object_type="user",
        object_id=user.id,
        role=role.value,
        organisation_id=organisation_id,
        active=active,
        password_changed=bool(password),
    )


def save_organisation(
    organisation: Organisation | None,
    *,
    name: str,
    kind: OrganisationKind,
    active: bool,
    actor: User,
) -> Organisation:
    name = name.strip()
    clash = db.session.scalar(select(Organisation.id).where(Organisation.name == name))
    if clash is not None and (organisation is None or clash != organisation.id):
        raise AccountRefused(_l("Another organisation already has this name."))
    action = "organisation.update"
    if organisation is None:
        organisation = Organisation(name=name, kind=kind, active=active)
        db.session.add(organisation)
        action = "organisation.create"
    organisation.name, organisation.kind, organisation.active = name, kind, active
    db.session.flush()
    audit.record(
        action,
        actor=actor,
        object_type="organisation",
        object_id=organisation.id,
        kind=kind.value,
        active=active,
    )
    return organisation
