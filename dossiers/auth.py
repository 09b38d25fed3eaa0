"""Passwords, server-side sessions, guessing limits and two-factor sign-in."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import time
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import delete, func, select, update

from . import queries
from .clock import now_utc
from .extensions import db
from .models import LoginFailure, Role, User, UserSession

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


def password_matches(user: User, password: str) -> bool:
    """Whether this is the user's password (asked again before it is changed)."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def active_user(user_id: int) -> User | None:
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def token_hash(token: str) -> str:
    """How a secret token is kept (a session's, a mailed link's): its sha256."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> str:
    """Open a new server-side session for the user and return its token; the user's
    previous visit ended when their latest earlier session was last used."""
    user.previous_visit_at = db.session.scalar(
        select(func.max(UserSession.last_seen_at)).where(UserSession.user_id == user.id)
    )
    token = secrets.token_urlsafe(32)
    hours = current_app.config["SESSION_LIFETIME_HOURS"]
    db.session.add(
        UserSession(
            token_hash=token_hash(token),
            user_id=user.id,
            expires_at=now_utc() + dt.timedelta(hours=hours),
        )
    )
    user.session_token = token
    return token


def user_for_token(token: str) -> User | None:
    """Return the user of a live session, reading the role afresh from the database.

    A session lives until its absolute end (12 hours) unless it is idle for longer than
    the idle limit (30 minutes); use is noted at most once a minute.
    """
    now = now_utc()
    idle = dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    row = db.session.execute(
        queries.live_session(),
        {"token_hash": token_hash(token), "now": now, "idle_since": now - idle},
    ).first()
    if row is None:
        return None
    user, session_id, last_seen_at = row
    if not user.active:
        return None
    if now - last_seen_at > dt.timedelta(minutes=1):
        db.session.execute(
            update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now)
        )
        db.session.commit()
    user.session_token = token
    return user


def end_session(token: str | None) -> None:
    if not token:
        return
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now_utc()


def end_all_sessions(user: User) -> None:
    """End every session of the user at once (disabled, new role, new password, reset)."""
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now_utc())
    )


def end_other_sessions(user: User) -> None:
    """End every session of the user but the one they are using (a password they changed
    themselves: whoever else held it is signed out, they are not)."""
    db.session.execute(
        update(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
            UserSession.token_hash != token_hash(user.session_token or ""),
        )
        .values(revoked_at=now_utc())
    )


# --- Guessing: slowed, then refused, per account and per address. -------------------

PASSWORD, CODE = "password", "code"  # the step a failure is counted against


def register_rate_limit(app: Flask) -> None:
    """A counter of sign-in posts per address, in the configured store (memory for one
    process, a shared store for several servers). Only the sign-in views ask it: no
    hook runs on the other requests."""
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["sign_in_rate"] = FixedWindowRateLimiter(storage)


def within_rate_limit(step: str, address: str) -> bool:
    """Count a sign-in post of this step from this address; False past the limit."""
    limiter = current_app.extensions["sign_in_rate"]
    return limiter.hit(parse(current_app.config["LOGIN_RATE_LIMIT"]), step, address)


def _email_key(email: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, normalise_email(email).encode(), hashlib.sha256).hexdigest()


def _since() -> dt.datetime:
    return now_utc() - dt.timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"])


def _failures(*where: Any) -> int:
    counted = select(func.count()).select_from(LoginFailure).where(LoginFailure.at > _since())
    return db.session.scalar(counted.where(*where)) or 0


def recent_failures(email: str, address: str) -> tuple[int, int]:
    """Failed sign-ins in the window: wrong passwords for this email (known or not), and
    failures of either step from this address."""
    by_email = _failures(
        LoginFailure.email_hash == _email_key(email), LoginFailure.step == PASSWORD
    )
    return by_email, _failures(LoginFailure.remote_addr == address)


def locked_out(email: str, address: str) -> bool:
    """Refuse the password step: this email was guessed too often, or this address
    guessed too often. Another address is not refused for what this one did."""
    by_email, by_address = recent_failures(email, address)
    config = current_app.config
    return (
        by_email >= config["LOGIN_MAX_FAILURES"]
        or by_address >= config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    )


def note_failure(email: str, address: str) -> int:
    """Record a wrong password and wait a little longer after each one; return the count."""
    db.session.add(LoginFailure(email_hash=_email_key(email), remote_addr=address, step=PASSWORD))
    db.session.flush()
    by_email, _ = recent_failures(email, address)
    time.sleep(min(by_email, 5) * current_app.config["LOGIN_SLOWDOWN_SECONDS"])
    return by_email


def clear_failures(email: str) -> None:
    """A right password forgets the wrong passwords before it, never the wrong codes."""
    db.session.execute(
        delete(LoginFailure).where(
            LoginFailure.email_hash == _email_key(email), LoginFailure.step == PASSWORD
        )
    )


def _code_failures(user: User) -> int:
    return _failures(LoginFailure.email_hash == _email_key(user.email), LoginFailure.step == CODE)


def second_step_locked(user: User) -> bool:
    """Too many wrong codes for this account in the window: its second step is refused,
    whatever cookie or address the next attempt comes with."""
    return _code_failures(user) >= current_app.config["LOGIN_MAX_CODE_FAILURES"]


def attempt_allowed(user: User, address: str) -> bool:
    """Count a code attempt as failed *before* checking it, committed, then see whether it
    is within the limit: attempts sent in parallel all count, so no more than the limit
    are ever checked. A right code clears the count (`clear_code_failures`)."""
    db.session.add(LoginFailure(email_hash=_email_key(user.email), remote_addr=address, step=CODE))
    db.session.commit()
    return _code_failures(user) <= current_app.config["LOGIN_MAX_CODE_FAILURES"]


def clear_code_failures(user: User) -> None:
    db.session.execute(
        delete(LoginFailure).where(
            LoginFailure.email_hash == _email_key(user.email), LoginFailure.step == CODE
        )
    )


# --- Two-factor sign-in. ------------------------------------------------------------

TOTP_ROLES = frozenset({Role.OFFICER, Role.ADMIN})
RECOVERY_CODES = 10


def needs_second_factor(user: User) -> bool:
    return user.role in TOTP_ROLES or user.totp_confirmed_at is not None


def forget_second_factor(user: User) -> None:
    """Forget the authenticator and the recovery codes; the user enrols again."""
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = 0
    user.recovery_codes = "[]"


def must_enrol(user: User) -> bool:
    return needs_second_factor(user) and user.totp_confirmed_at is None


def new_enrolment_code(user: User) -> str:
    """A one-time code for the user's first enrolment (or the next one after a reset),
    good for ENROLMENT_CODE_HOURS; only its hash is kept, and a new one replaces it."""
    code = "-".join(secrets.token_hex(2).upper() for _ in range(4))  # 64 bits
    hours = current_app.config["ENROLMENT_CODE_HOURS"]
    user.enrolment_code_hash = _hash_code(code)
    user.enrolment_code_expires_at = now_utc() + dt.timedelta(hours=hours)
    return code


def enrolment_code_valid(user: User) -> bool:
    expires = user.enrolment_code_expires_at
    return bool(user.enrolment_code_hash) and expires is not None and expires > now_utc()


def check_enrolment_code(user: User, code: str) -> bool:
    if not enrolment_code_valid(user):
        return False
    return hmac.compare_digest(user.enrolment_code_hash or "", _hash_code(code.replace(" ", "")))


def enrolment_code_used(user: User) -> None:
    user.enrolment_code_hash = None
    user.enrolment_code_expires_at = None


def new_totp_secret(user: User) -> str:
    forget_second_factor(user)
    user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(
        name=user.email, issuer_name="NCCN Dossiers"
    )


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    user.recovery_codes = json.dumps([_hash_code(c) for c in codes])
    return codes


def check_second_factor(user: User, code: str) -> bool:
    """Accept a current TOTP code not used before, or an unused recovery code (once)."""
    code = code.strip().replace(" ", "")
    if not user.totp_secret:
        return False
    if re.fullmatch(r"[0-9]{6}", code):  # ASCII digits: "²" is a digit to isdigit()
        totp = pyotp.TOTP(user.totp_secret)
        step = int(time.time()) // totp.interval
        for candidate in (step - 1, step, step + 1):  # a clock a little off still works
            if candidate > user.totp_last_step and hmac.compare_digest(
                totp.at(candidate * totp.interval), code
            ):
                user.totp_last_step = candidate  # never the same code twice
                return True
        return False
    remaining = json.loads(user.recovery_codes or "[]")
    hashed = _hash_code(code)
    if hashed in remaining:
        remaining.remove(hashed)
        user.recovery_codes = json.dumps(remaining)
        return True
    return False
