"""The officer's start page: what needs doing now."""

from flask import Blueprint, render_template

from ..listings import needing_action, reviews_due, unacknowledged_measures
from ..models import today

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.get("/")
def index():
    """Show dossiers needing action, reviews due and unacknowledged measures."""
    return render_template(
        "dashboard/index.html",
        needing_action=needing_action(),
        reviews_due=reviews_due(today()),
        unacknowledged=unacknowledged_measures(),
    )
