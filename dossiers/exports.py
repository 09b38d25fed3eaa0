"""The yearly report as CSV, XLSX and PDF."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from .extensions import db
from .report import Report, Row

HEADER = [
    "section",
    "figure",
    "group",
    "year",
    "value",
    "previous_year",
    "previous_value",
    "counting_rule",
]


def _lines(report: Report) -> Iterator[list]:
    y, p = report.year, report.year - 1
    for f in report.figures.values():
        yield ["figure", f.key, "", y, f.value, p, f.previous, str(f.rule)]
    for b in report.breakdowns:
        for g in b.groups:
            yield ["breakdown", b.key, g.label, y, g.value, p, g.previous, str(b.rule)]
    day = report.open_day.isoformat()
    for key in report.open_values:
        yield [
            f"open_on_{day}",
            key,
            "",
            y,
            report.open_values[key],
            "",
            "",
            str(report.open_rule),
        ]


def csv_stream(rows: Iterable[list[Any]]) -> Iterator[str]:
    """Yield CSV text a line at a time, so that memory does not grow with the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def csv_text(report: Report) -> Iterator[str]:
    return csv_stream([HEADER, *_lines(report)])


def xlsx_bytes(report: Report) -> bytes:
    """One sheet of headline figures, one per breakdown, each with the counting rule."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Figures"  # sheet names stay fixed: formulas and scripts refer to them
    bold = Font(bold=True)
    sheet.append([_("Protection figures %(y)d", y=report.year)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([_("Figure"), str(report.year), str(report.year - 1), _("Counting rule")])
    for cell in sheet[2]:
        cell.font = bold
    for f in report.figures.values():
        sheet.append([str(f.label), f.value, f.previous, str(f.rule)])
    sheet.append([])
    sheet.append(
        [
            _("open on %(d)s: dossiers", d=f"{report.open_day:%d/%m/%Y}"),
            report.open_values["open_dossiers"],
            "",
            str(report.open_rule),
        ]
    )
    sheet.append(
        [
            _("open on %(d)s: persons", d=f"{report.open_day:%d/%m/%Y}"),
            report.open_values["open_persons"],
        ]
    )
    sheet.column_dimensions["A"].width = 48
    sheet.column_dimensions["D"].width = 90
    for b in report.breakdowns:
        page = book.create_sheet(b.key[:31])
        page.append([str(b.label)])
        page["A1"].font = Font(bold=True, size=13)
        page.append([str(b.rule)])
        page.append([_("Group"), str(report.year), str(report.year - 1)])
        for cell in page[3]:
            cell.font = bold
        for g in b.groups:
            page.append([g.label, g.value, g.previous])
        page.column_dimensions["A"].width = 48
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


DRILL_HEADERS = {
    "dossier": ["title", ""],
    "person": ["person", "function"],
    "event": ["event", "place"],
    "attendance": ["person", "event"],
    "measure": ["measure", "partner"],
}


def drill_lines(rows: Iterable[Row], unit: str, with_names: bool) -> Iterator[list[Any]]:
    """The rows behind a figure as lines, a header first; names only if allowed."""
    if not with_names:
        yield ["reference", "date"]
        for row in rows:
            yield [row.reference, row.on.isoformat()]
        return
    yield ["reference", "date", *DRILL_HEADERS[unit]]
    for row in rows:
        yield [row.reference, row.on.isoformat(), row.name or "", row.detail or ""]


def in_own_context(chunks: Iterator[str]) -> Iterator[str]:
    """Run a streamed body in an application context (and database session) of its own,
    opened when the server starts sending it and closed when it ends: the request's own
    context is gone by then."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> Iterator[str]:
        with app.app_context():
            try:
                yield from chunks
            finally:
                db.session.remove()

    return run()


def xlsx_file(lines: Iterable[list[Any]], title: str) -> IO[bytes]:
    """A one-sheet workbook of the lines, written row by row to a temporary file (openpyxl's
    write-only mode keeps no rows in memory); the file disappears when closed."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title="Rows")
    sheet.append([title])
    for line in lines:
        sheet.append(line)
    out = tempfile.TemporaryFile(suffix=".xlsx")
    book.save(out)
    out.seek(0)
    return out


def file_chunks(file: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    """Send a file a piece at a time and close it at the end, or when the client leaves."""
    try:
        while chunk := file.read(size):
            yield chunk
    finally:
        file.close()


def pdf_bytes(html: str, base_url: str) -> bytes:
    from weasyprint import HTML  # imported on use: it loads Pango at import

    return HTML(string=html, base_url=base_url).write_pdf()
