"""Signing in (password, then a second factor where required) and out."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from .. import account_links, accounts, audit
from ..auth import (
    active_user,
    attempt_allowed,
    authenticate,
    check_enrolment_code,
    check_second_factor,
    clear_code_failures,
    clear_failures,
    end_session,
    enrolment_code_used,
    enrolment_code_valid,
    locked_out,
    must_enrol,
    needs_second_factor,
    new_enrolment_code,
    new_recovery_codes,
    new_totp_secret,
    note_failure,
    provisioning_uri,
    second_step_locked,
    start_session,
    within_rate_limit,
)
from ..clock import now_utc
from ..extensions import db
from ..forms import (
    ChosenPasswordForm,
    EnrolmentCodeForm,
    ForgottenPasswordForm,
    LoginForm,
    PasswordChangeForm,
    TotpForm,
)
from ..logs import log
from ..models import AccountToken, AccountTokenPurpose, User
from . import commit

bp = Blueprint("auth", __name__)
PENDING_SECONDS = 300  # between the password and the second factor
INVITED_ENROLMENT_SECONDS = 1800  # between an invitation's password and the authenticator


def rate_limited(view: Callable[[], Any]) -> Callable[[], Any]:
    """Refuse a sign-in post past the per-address rate (LOGIN_RATE_LIMIT) with a 429."""

    @wraps(view)
    def limited() -> Any:
        if request.method == "POST" and not within_rate_limit(
            request.endpoint or "", request.remote_addr or "?"
        ):
            abort(429)
        return view()

    return limited


def safe_next(target: str | None) -> str | None:
    """A ?next= target only when it stays inside this app."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def _finish(user: User, next_url: str | None):
    # A fresh cookie and a fresh server-side session: nothing from before survives.
    session.clear()
    start_session(user)
    login_user(user)
    audit.record("user.login", actor=user, object_type="user", object_id=user.id)
    db.session.commit()
    return redirect(safe_next(next_url) or url_for("main.index"))


@bp.route("/login", methods=["GET", "POST"])
@rate_limited
def login():
    """Sign in; the same answer for an unknown email, a wrong password and a lockout."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    next_url = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        email, address = form.email.data or "", request.remote_addr or "?"
        if locked_out(email, address):
            log.warning("sign-in locked out", extra={"address": address})
            audit.record(
                "user.login_locked",
                actor=None,
                object_type="user",
                object_id=None,
                outcome="refused",
            )
            db.session.commit()
            form.password.errors.append(
                _("Too many failed sign-ins. Wait 15 minutes and try again.")
            )
            return render_template("auth/login.html", form=form), 429
        user = authenticate(email, form.password.data or "")
        if user is None:
            note_failure(email, address)
            audit.record(
                "user.login_failed",
                actor=None,
                object_type="user",
                object_id=None,
                outcome="refused",
            )
            db.session.commit()
            form.password.errors.append(_("Wrong email or password."))
        elif needs_second_factor(user):
            clear_failures(email)
            session.clear()
            session.update(
                pending_user=user.id,
                pending_since=time.time(),
                pending_next=next_url,
            )
            db.session.commit()
            return redirect(url_for("auth.totp" if user.totp_confirmed_at else "auth.enrol"))
        else:
            clear_failures(email)
            return _finish(user, next_url)
    return render_template("auth/login.html", form=form)


def _pending_user() -> User | None:
    """The user who gave the right password a moment ago, if any."""
    user_id, since = session.get("pending_user"), session.get("pending_since", 0)
    allowed = session.get("pending_for", PENDING_SECONDS)
    if user_id is None or time.time() - since > allowed:
        return None
    return active_user(user_id)


def _second_step_refused() -> Any:
    session.clear()
    flash(_("Too many wrong codes. Wait 15 minutes, then sign in again."), "danger")
    return redirect(url_for("auth.login"))


def _code_attempt(user: User, field: Any, message: Any, right: Callable[[], bool]) -> Any:
    """Check a code the account's limit still allows: True when it is right; else None with
    the message at the field, or the refusal once the account has had too many. Counted
    on the server (auth.attempt_allowed), whatever cookie or address comes next."""
    if not attempt_allowed(user, request.remote_addr or "?"):
        return _second_step_refused()
    if right():
        clear_code_failures(user)
        return True
    audit.record(
        "user.totp_failed", actor=user, object_type="user", object_id=user.id, outcome="refused"
    )
    db.session.commit()
    if second_step_locked(user):
        return _second_step_refused()
    field.errors.append(str(message))
    return None


WRONG_CODE = _l("This code is not valid. Use the current code from your app.")
WRONG_ENROLMENT_CODE = _l(
    "This enrolment code is not valid or has expired. Ask an administrator for a new one."
)


@bp.route("/login/totp", methods=["GET", "POST"])
@rate_limited
def totp():
    """The second step: a code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    user = _pending_user()
    if user is None or user.totp_confirmed_at is None:
        session.clear()
        return redirect(url_for("auth.login"))
    if second_step_locked(user):
        return _second_step_refused()
    form = TotpForm()
    if form.validate_on_submit():
        code = form.code.data or ""
        outcome = _code_attempt(
            user, form.code, WRONG_CODE, lambda: check_second_factor(user, code)
        )
        if outcome is True:
            return _finish(user, session.get("pending_next"))
        if outcome is not None:
            return outcome
    return render_template("auth/totp.html", form=form)


@bp.route("/login/enrol", methods=["GET", "POST"])
@rate_limited
def enrol():
    """First sign-in of a role that needs two factors: the enrolment code an administrator
    gave, then the authenticator (scan, confirm once). The password alone enrols nothing."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    user = _pending_user()
    if user is None or not must_enrol(user):
        session.clear()
        return redirect(url_for("auth.login"))
    if second_step_locked(user):
        return _second_step_refused()
    # The code given in this browser, still the account's and still valid: an admin who
    # issued a new one or reset the account meanwhile ends this enrolment.
    if session.get("enrolling") != [user.id, user.enrolment_code_hash] or not (
        enrolment_code_valid(user)
    ):
        return _enrolment_code_step(user)
    form = TotpForm()
    if form.validate_on_submit():
        code = form.code.data or ""
        outcome = _code_attempt(
            user, form.code, WRONG_CODE, lambda: check_second_factor(user, code)
        )
        if outcome is True:
            user.totp_confirmed_at = now_utc()
            enrolment_code_used(user)
            codes = new_recovery_codes(user)
            audit.record("user.totp_enrolled", actor=user, object_type="user", object_id=user.id)
            _finish(user, None)
            return render_template("auth/recovery_codes.html", codes=codes)
        if outcome is not None:
            return outcome
    return render_template(
        "auth/enrol.html",
        form=form,
        secret=user.totp_secret,
        qr=qr_data_uri(provisioning_uri(user)),
    )


def _enrolment_code_step(user: User) -> Any:
    form = EnrolmentCodeForm()
    if form.validate_on_submit():
        code = form.code.data or ""
        outcome = _code_attempt(
            user, form.code, WRONG_ENROLMENT_CODE, lambda: check_enrolment_code(user, code)
        )
        if outcome is True:
            session["enrolling"] = [user.id, user.enrolment_code_hash]
            new_totp_secret(user)  # shown only now, to the holder of the code
            db.session.commit()
            return redirect(url_for("auth.enrol"))
        if outcome is not None:
            return outcome
    return render_template("auth/enrolment_code.html", form=form)


def qr_data_uri(uri: str) -> str:
    import segno

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


@bp.route("/password", methods=["GET", "POST"])
@rate_limited
def change_password():
    """Choose one's own password: asked before any other page after an administrator
    chose it (access.enforce_policy), and offered to everyone from the navigation."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        address = request.remote_addr or "?"
        if locked_out(current_user.email, address):
            form.current_password.errors.append(
                _("Too many failed sign-ins. Wait 15 minutes and try again.")
            )
        elif commit(
            lambda: accounts.change_password(
                current_user,
                current=form.current_password.data or "",
                new=form.new_password.data or "",
                confirmation=form.confirmation.data or "",
            ),
            _("Your password is changed. Your other sessions are signed out."),
            form=form,
        ):
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
        elif form.current_password.errors:
            _wrong_current_password(current_user, address)
    return render_template(
        "auth/change_password.html",
        form=form,
        first=current_user.must_change_password,
        min_length=accounts.MIN_PASSWORD_LENGTH,
    )


def _wrong_current_password(user: User, address: str) -> None:
    """Counted and slowed like a wrong password at sign-in: a session left open is not a
    way to guess the password it was opened with."""
    note_failure(user.email, address)
    audit.record(
        "user.password_change_failed",
        actor=user,
        object_type="user",
        object_id=user.id,
        outcome="refused",
    )
    db.session.commit()


@bp.route("/password/forgotten", methods=["GET", "POST"])
@rate_limited
def forgotten_password():
    """Ask for a link to choose a new password. The answer is the same whether an
    account uses the address or not: the page tells nobody who has an account."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.change_password"))
    form = ForgottenPasswordForm()
    if form.validate_on_submit():
        started = time.perf_counter()
        account_links.request_reset(form.email.data or "")
        db.session.commit()
        # The same time for every address: a known one does more work (its link, its mail).
        answer_at = started + current_app.config["RESET_ANSWER_SECONDS"]
        time.sleep(max(0.0, answer_at - time.perf_counter()))
        flash(
            _(
                "If an account uses this address, a link to choose a new password is on its "
                "way to it. The link works once, within %(n)d hours.",
                n=current_app.config["PASSWORD_RESET_HOURS"],
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgotten_password.html", form=form)


@bp.get("/account/link")
def account_link():
    """A link from a mail (an invitation or a reset). Opening it changes nothing, as a
    mail scanner opens links too: the token moves to this browser's session, out of the
    address bar and the history, and the form that follows uses it."""
    if current_user.is_authenticated:
        return render_template("auth/account_link.html", signed_in=True), 409
    token = request.args.get("token", "")
    if account_links.valid_link(token) is None:
        return _link_not_valid()
    session.clear()
    session["account_link"] = token
    return redirect(url_for("auth.set_password"))


def _link_not_valid() -> Any:
    session.pop("account_link", None)
    return render_template("auth/account_link.html", signed_in=False), 410


@bp.route("/account/password", methods=["GET", "POST"])
@rate_limited
def set_password():
    """Choose a password through a mailed link; an invitation then goes on to the set-up
    of the second factor, where the role needs one."""
    if current_user.is_authenticated:
        return render_template("auth/account_link.html", signed_in=True), 409
    link = account_links.valid_link(session.get("account_link", ""))
    if link is None:
        return _link_not_valid()
    invitation = link.purpose is AccountTokenPurpose.INVITATION
    form = ChosenPasswordForm()
    if form.validate_on_submit() and (
        done := commit(lambda: _use_link(link, form), form=form, field=form.new_password)
    ):
        user = done.value
        session.clear()
        if invitation and must_enrol(user):
            # The link stood for the enrolment code: it came to the account's own mailbox.
            session.update(
                pending_user=user.id,
                pending_since=time.time(),
                # Time to install an authenticator app: the link cannot be used again.
                pending_for=INVITED_ENROLMENT_SECONDS,
                pending_next=None,
                enrolling=[user.id, user.enrolment_code_hash],
            )
            flash(_("Your password is set. Now set up your two-factor sign-in."), "success")
            return redirect(url_for("auth.enrol"))
        flash(_("Your password is set. Sign in with it."), "success")
        return redirect(url_for("auth.login"))
    return render_template(
        "auth/set_password.html",
        form=form,
        user=link.user,
        invitation=invitation,
        min_length=accounts.MIN_PASSWORD_LENGTH,
    )


def _use_link(link: AccountToken, form: ChosenPasswordForm) -> User:
    user = account_links.set_password(
        link, new=form.new_password.data or "", confirmation=form.confirmation.data or ""
    )
    if link.purpose is AccountTokenPurpose.INVITATION and must_enrol(user):
        new_enrolment_code(user)
        new_totp_secret(user)
    return user


@bp.post("/logout")
def logout():
    """End this session, here and on every server."""
    end_session(current_user.session_token)
    audit.record("user.logout", actor=current_user, object_type="user", object_id=current_user.id)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
