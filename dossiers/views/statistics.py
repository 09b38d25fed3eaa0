"""The yearly figures (the full report comes with the report issue)."""

from flask import Blueprint, abort, render_template

from .. import statistics
from ..access import STATISTICS_ROLES, allow

bp = Blueprint("statistics", __name__, url_prefix="/statistics")


@bp.get("/")
@allow(*STATISTICS_ROLES)
def index():
    """List the years that have dossiers."""
    return render_template("statistics/index.html", years=statistics.years_with_data())


@bp.get("/<int:year>")
@allow(*STATISTICS_ROLES)
def year(year: int):
    """Show the headline figures of a year."""
    if year not in statistics.years_with_data():
        abort(404)
    return render_template(
        "statistics/year.html",
        year=year,
        figures=statistics.headline(year),
        previous=statistics.headline(year - 1),
    )
