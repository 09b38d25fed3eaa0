"""The front door and the health check."""

from functools import cache

from flask import Blueprint, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from ..extensions import db
from ..models import Role

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
