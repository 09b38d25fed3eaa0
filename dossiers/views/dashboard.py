"""The officer's start page: what needs doing now."""

from flask import Blueprint, render_template

from .. import listings, partner_messages, queries
from ..clock import today

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.get("/")
def index():
    """Show partners' open messages, the most urgent dossiers needing action, reviews
    due and unacknowledged measures, with how many of each wait."""
    day, rows = today(), listings.DASHBOARD_ROWS
    return render_template(
        "dashboard/index.html",
        needing_action=queries.needing_action(rows),
        reviews_due=queries.reviews_due(day, rows),
        unacknowledged=queries.unacknowledged_measures(rows),
        messages=partner_messages.open_messages(rows),
        waiting=listings.workload(day),
        shown=rows,
    )
