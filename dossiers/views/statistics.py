"""The yearly report: the figures, the rows behind each of them, charts and exports."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from .. import audit, exports, figures, keyset, report
from ..access import can_read_names
from ..charts import breakdown_svg
from ..extensions import db
from ..forms import OpenOnForm
from ..labels import unit_noun
from ..security import svg_policy

bp = Blueprint("statistics", __name__, url_prefix="/statistics")


def _known_year(year: int) -> int:
    if year not in figures.report_years()[1]:
        abort(404)
    return year


def _open_day(year: int):
    form = OpenOnForm(request.args)
    if request.args.get("on") and form.validate() and form.on.data:
        return form, form.on.data
    form.on.data = figures.default_day(year)
    return form, form.on.data


@bp.get("/")
def index():
    """List the years that have dossiers, and the current one."""
    return render_template("statistics/index.html", years=figures.report_years()[0])


@bp.get("/<int:year>")
def year(year: int):
    """Show the yearly report: figure tiles, breakdown charts, the open-on figure."""
    form, day = _open_day(_known_year(year))
    return render_template(
        "statistics/year.html", report=report.build_remembered(year, day), form=form
    )


@bp.get("/<int:year>/figures/<key>")
def figure(year: int, key: str):
    """List the rows behind a figure, a page at a time: as many as the figure says."""
    drill = _drill(year, key)
    after, before = request.args.get("after"), request.args.get("before")
    page = report.remembered(
        ("rows", key, year, drill.group, drill.day, drill.names, after, before),
        lambda: report.rows(
            drill.population, drill.figure.unit, drill.names, after=after, before=before
        ),
    )
    _audit_drill(drill, year, page.total, "page")
    return render_template(
        "statistics/figure.html",
        year=year,
        key=key,
        title=drill.figure.label,
        counted=drill.figure.label_for(page.total),
        rows_named=unit_noun(drill.figure.unit, page.total),
        group_label=drill.figure.group_label(drill.group),
        day=drill.day if drill.figure.dated else None,
        page=page,
        names=drill.names,
        unit=drill.figure.unit,
        context=report.CONTEXT_HEADERS.get(drill.figure.unit, ()),
        args=keyset.filters(),
    )


@bp.get("/<int:year>/figures/<key>/rows.<fmt>")
def figure_export(year: int, key: str, fmt: str):
    """Download every row behind a figure as CSV or XLSX, streamed from the database."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    drill = _drill(year, key)
    _audit_drill(drill, year, None, fmt)
    unit, names = drill.figure.unit, drill.names
    lines = exports.drill_lines(report.stream(drill.population, unit, names), unit, names)
    # Named from our own values: the figure's key, and the group's label only for a group
    # the figure has (in its fixed list, or in the rows), never the query's text as sent.
    group = drill.figure.known_group_label(drill.group, drill.population)
    name = f"{key}-{year}" + (f"-{group}" if group is not None else "")
    if fmt == "csv":
        return Response(
            exports.in_own_context(exports.csv_stream(lines)),
            mimetype="text/csv",
            headers=exports.attachment(name, "csv"),
        )
    return Response(
        exports.file_chunks(exports.xlsx_file(lines, title=str(drill.figure.label))),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=exports.attachment(name, "xlsx"),
    )


@dataclass(frozen=True)
class Drill:
    figure: figures.Figure
    group: Any
    day: dt.date
    population: Any
    names: bool  # the reader may see names


def _drill(year: int, key: str) -> Drill:
    figure = figures.FIGURES.get(key)
    if figure is None:
        abort(404)
    _known_year(year)
    group = figure.group_of(request.args.get("group"))
    if figure.grouped and group is None:
        abort(404)
    _, day = _open_day(year)
    population = figure.rows(year, group, day)
    return Drill(figure, group, day, population, can_read_names(current_user))


def _audit_drill(drill: Drill, year: int, rows: int | None, form: str) -> None:
    audit.record(
        "statistics.drill",
        actor=current_user,
        object_type="figure",
        object_id=None,
        figure=drill.figure.key,
        year=year,
        group=drill.group,
        names=drill.names,
        rows=rows,
        form=form,
    )
    audit.commit_read()


def _drill_link(year: int, key: str):
    return lambda group: url_for("statistics.figure", year=year, key=key, group=group)


@bp.get("/<int:year>/charts/<key>.svg")
def chart(year: int, key: str):
    """Draw one breakdown as SVG; its bars link to their rows."""
    if key not in figures.BREAKDOWNS:
        abort(404)
    breakdown = report.breakdown_remembered(key, _known_year(year))
    svg = breakdown_svg(breakdown, year, _drill_link(year, key))
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = svg_policy(svg)
    response.headers["X-Frame-Options"] = "SAMEORIGIN"  # the report page embeds it
    return response


@bp.get("/<int:year>/report.<fmt>")
def export(year: int, fmt: str):
    """Download the report as CSV, XLSX or a printable PDF."""
    form, day = _open_day(_known_year(year))
    if fmt not in ("csv", "xlsx", "pdf"):
        abort(404)
    built = report.build_remembered(year, day)
    audit.record(
        "statistics.export",
        actor=current_user,
        object_type="report",
        object_id=None,
        year=year,
        format=fmt,
    )
    db.session.commit()
    name = f"protection-figures-{year}"
    if fmt == "csv":
        return Response(
            exports.csv_text(built), mimetype="text/csv", headers=exports.attachment(name, "csv")
        )
    if fmt == "xlsx":
        return Response(
            exports.xlsx_bytes(built),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers=exports.attachment(name, "xlsx"),
        )
    if fmt == "pdf":
        charts = {
            b.key: base64.b64encode(breakdown_svg(b, year).encode()).decode()
            for b in built.breakdowns
        }
        html = render_template("statistics/print.html", report=built, charts=charts)
        return Response(
            exports.pdf_bytes(html, request.url_root),
            mimetype="application/pdf",
            headers=exports.attachment(name, "pdf"),
        )
    abort(404)
