"""The officer's start page: what needs doing now."""

from flask import Blueprint, render_template

from .. import listings
from ..clock import today

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.get("/")
def index():
    """Show the most urgent dossiers needing action, reviews due and unacknowledged
    measures, with how many of each wait."""
    day, rows = today(), listings.DASHBOARD_ROWS
    return render_template(
        "dashboard/index.html",
        needing_action=listings.needing_action(rows),
        reviews_due=listings.reviews_due(day, rows),
        unacknowledged=listings.unacknowledged_measures(rows),
        waiting=listings.workload(day),
        shown=rows,
    )
