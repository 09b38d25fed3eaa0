"""Secrets kept encrypted at rest (the TOTP secrets): Fernet from `cryptography`.

The keys come from the configuration (TOTP_KEYS: Fernet keys, comma-separated). The
first encrypts; every one decrypts, so that a key can be rotated in: put the new key
first, run `flask rotate-totp-keys`, then drop the old one. A copy of the database
alone then gives nobody a way to make codes.
"""

from __future__ import annotations

import functools
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import String, select
from sqlalchemy.orm import undefer
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.types import TypeDecorator

from .extensions import db


class SealingKeyMissing(RuntimeError):
    """No configured key opens a stored secret: the configuration lost a key."""


def check_keys(keys: str) -> None:
    """Refuse to start with a TOTP_KEYS that holds no key, or something not a key."""
    try:
        _box(keys)
    except ValueError:
        raise RuntimeError(
            "TOTP_KEYS must hold Fernet keys (32 url-safe base64 bytes), comma-separated"
        ) from None


@functools.cache
def _box(keys: str) -> MultiFernet:
    """The keys as one box; ValueError for a bad key, and for none at all."""
    return MultiFernet([Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()])


def _current_box() -> MultiFernet:
    return _box(current_app.config["TOTP_KEYS"])


def seal(plain: str) -> str:
    return _current_box().encrypt(plain.encode()).decode()


def unseal(token: str) -> str:
    try:
        return _current_box().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SealingKeyMissing(
            "A stored TOTP secret opens with none of the keys in TOTP_KEYS."
        ) from None


class Sealed(TypeDecorator):
    """A text column stored encrypted; Python code only ever sees the plain text."""

    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else seal(value)

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else unseal(value)


def rotate() -> int:
    """Encrypt every stored secret again with the first key (the TOTP secrets, and the
    tokens of account links still waiting in the outbox); return how many."""
    from .models import Notification, User  # models use Sealed: imported here, not at the top

    users = list(
        db.session.scalars(
            select(User).options(undefer(User.totp_secret)).where(User.totp_secret.is_not(None))
        )
    )
    for user in users:
        flag_modified(user, "totp_secret")  # written again, so sealed with the first key
    waiting = list(
        db.session.scalars(
            select(Notification)
            .options(undefer(Notification.secret))
            .where(Notification.secret.is_not(None))
        )
    )
    for row in waiting:
        flag_modified(row, "secret")
    return len(users) + len(waiting)
