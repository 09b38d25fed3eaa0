"""The front door and the health check."""

import datetime as dt
from functools import cache
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import text

from ..extensions import db
from ..forms import LanguageForm
from ..models import Role
from .auth import safe_next

bp = Blueprint("main", __name__)

HOME_BY_ROLE = {
    Role.OFFICER: "dashboard.index",
    Role.PARTNER: "measures.index",
    Role.ANALYST: "statistics.index",
    Role.ADMIN: "admin.users",
}


@bp.get("/")
def index():
    """Send each role to its own start page."""
    return redirect(url_for(HOME_BY_ROLE[current_user.role]))


@bp.post("/language")
def set_language():
    """Switch the language: kept on the account when signed in, in a cookie before."""
    from .. import LANGUAGE_COOKIE

    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        current_user.language = form.language.data
        db.session.commit()
    # Back to the page the switch was made on (the same-origin Referer): a field naming it
    # would make every page's HTML differ by its own address, 404 pages included.
    came_from = urlsplit(request.referrer or "")
    back = None
    if came_from.netloc == request.host:
        back = safe_next(came_from.path + (f"?{came_from.query}" if came_from.query else ""))
    back = back or url_for("main.index")
    response = redirect(back)
    response.set_cookie(
        LANGUAGE_COOKIE,
        form.language.data,
        max_age=int(dt.timedelta(days=365).total_seconds()),
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.get("/readyz")
def readyz():
    """Answer 200 when the database answers and its schema is the code's."""
    try:
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # the database is down, or was never migrated
        db.session.rollback()
        return {"status": "unavailable"}, 503
    expected = schema_head()
    if current != expected:
        return {"status": "migrations pending", "database": current, "code": expected}, 503
    return {"status": "ready", "schema": current}


@cache
def schema_head() -> str | None:
    from alembic.script import ScriptDirectory
    from flask import current_app

    return ScriptDirectory(current_app.extensions["migrate"].directory).get_current_head()


@bp.get("/healthz")
def healthz():
    """Answer 200 when the app and its database answer."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure of the database means unhealthy
        db.session.rollback()
        return {"status": "unavailable"}, 503
    return {"status": "ok"}
