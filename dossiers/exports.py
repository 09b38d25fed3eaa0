"""The yearly report as CSV, XLSX and PDF."""

from __future__ import annotations

import csv
import io
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from typing import IO, Any
from urllib.parse import quote

from flask import current_app
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font

from .extensions import db
from .report import CONTEXT_HEADERS, Report, Row

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


def attachment(stem: str, extension: str) -> dict[str, str]:
    """A Content-Disposition header (RFC 6266) for a download named `stem.extension`,
    whatever the stem's characters: an ASCII `filename` for old clients, the exact name as
    `filename*`. Control characters are dropped, a long stem is cut (never the extension,
    which is ours) and nothing of the name can close the quotes."""
    name = "".join(c for c in stem if unicodedata.category(c)[0] != "C")[:120] or "download"
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9_-]+", "-", plain).strip("-") or "download"
    exact = quote(f"{name}.{extension}", safe="")
    return {
        "Content-Disposition": (
            f"attachment; filename=\"{plain}.{extension}\"; filename*=UTF-8''{exact}"
        )
    }


# What a spreadsheet reads as the start of a formula in a CSV cell (OWASP's list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as the text it is: text someone typed that starts
    like a formula gets a leading apostrophe (shown, still readable), never run."""
    if isinstance(value, str) and value.lstrip(" ").startswith(_FORMULA_START):
        return "'" + value
    return value


def text_cell(sheet: Any, value: Any) -> Cell:
    """An XLSX cell: text stays text (never a formula, never an error code); characters
    XML cannot carry become U+FFFD instead of failing the whole file."""
    if not isinstance(value, str):
        return Cell(sheet, row=1, column=1, value=value)
    cell = Cell(sheet, row=1, column=1, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
    cell.data_type = "s"
    return cell


def _append(sheet: Any, values: Iterable[Any]) -> None:
    sheet.append([text_cell(sheet, value) for value in values])


def csv_stream(rows: Iterable[list[Any]]) -> Iterator[str]:
    """Yield CSV text a line at a time, so that memory does not grow with the rows; every
    cell made inert (`inert`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([inert(value) for value in row])
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
    _append(sheet, [_("Protection figures %(y)d", y=report.year)])
    sheet["A1"].font = Font(bold=True, size=14)
    _append(sheet, [_("Figure"), str(report.year), str(report.year - 1), _("Counting rule")])
    for cell in sheet[2]:
        cell.font = bold
    for f in report.figures.values():
        _append(sheet, [str(f.label), f.value, f.previous, str(f.rule)])
    _append(sheet, [])
    _append(
        sheet,
        [
            _("open on %(d)s: dossiers", d=f"{report.open_day:%d/%m/%Y}"),
            report.open_values["open_dossiers"],
            "",
            str(report.open_rule),
        ],
    )
    _append(
        sheet,
        [
            _("open on %(d)s: persons", d=f"{report.open_day:%d/%m/%Y}"),
            report.open_values["open_persons"],
        ],
    )
    sheet.column_dimensions["A"].width = 48
    sheet.column_dimensions["D"].width = 90
    for b in report.breakdowns:
        page = book.create_sheet(b.key[:31])
        _append(page, [str(b.label)])
        page["A1"].font = Font(bold=True, size=13)
        _append(page, [str(b.rule)])
        _append(page, [_("Group"), str(report.year), str(report.year - 1)])
        for cell in page[3]:
            cell.font = bold
        for g in b.groups:
            _append(page, [g.label, g.value, g.previous])
        page.column_dimensions["A"].width = 48
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


DRILL_HEADERS = {
    "dossier": ["title", ""],
    "person": ["person", "function"],
    "event": ["event", "place"],
    "attendance": ["person", "function"],
    "measure": ["measure", "partner"],
}


def drill_lines(rows: Iterable[Row], unit: str, with_names: bool) -> Iterator[list[Any]]:
    """The rows behind a figure as lines, a header first: the reference, the date, the
    row's context (which names nobody), then names only if allowed."""
    context = [key for key, _ in CONTEXT_HEADERS.get(unit, ())]
    names = DRILL_HEADERS[unit] if with_names else []
    yield ["reference", "date", *context, *names]
    for row in rows:
        shown = [row.name or "", row.detail or ""] if with_names else []
        yield [row.reference, row.on.isoformat(), *row.context, *shown]


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
    _append(sheet, [title])
    for line in lines:
        _append(sheet, line)
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
