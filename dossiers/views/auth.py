"""Signing in and out."""

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import audit
from ..auth import authenticate, end_session, start_session
from ..extensions import db
from ..forms import LoginForm

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in; the same answer for an unknown email and a wrong password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            audit.record("user.login_failed", actor=None, object_type="user", object_id=None)
            db.session.commit()
            form.password.errors.append(_("Wrong email or password."))
        else:
            # A fresh cookie and a fresh server-side session: nothing from before survives.
            session.clear()
            start_session(user)
            login_user(user)
            audit.record("user.login", actor=user, object_type="user", object_id=user.id)
            db.session.commit()
            return redirect(url_for("main.index"))
    return render_template("auth/login.html", form=form)


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
