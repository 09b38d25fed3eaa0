"""The front door and the health check."""

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


@bp.get("/healthz")
def healthz():
    """Answer 200 when the app and its database answer."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure of the database means unhealthy
        db.session.rollback()
        return {"status": "unavailable"}, 503
    return {"status": "ok"}
