"""Passwords and server-side sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .extensions import db
from .models import User, UserSession, now_utc

_hasher = PasswordHasher()  # argon2id with the library's current parameters
# Verified against when the email is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with this email and password, or None."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> str:
    """Open a new server-side session for the user and return its token."""
    token = secrets.token_urlsafe(32)
    hours = current_app.config["SESSION_LIFETIME_HOURS"]
    db.session.add(
        UserSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            expires_at=now_utc() + dt.timedelta(hours=hours),
        )
    )
    user.session_token = token
    return token


def user_for_token(token: str) -> User | None:
    """Return the user of a live session, reading the role afresh from the database."""
    row = db.session.scalar(
        select(UserSession)
        .options(joinedload(UserSession.user).joinedload(User.organisation))
        .where(
            UserSession.token_hash == _token_hash(token),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now_utc(),
        )
    )
    if row is None or not row.user.active:
        return None
    row.user.session_token = token
    return row.user


def end_session(token: str | None) -> None:
    if not token:
        return
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now_utc()
