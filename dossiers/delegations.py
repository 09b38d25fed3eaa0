"""A whole delegation at once: a list (pasted, or a CSV or XLSX file) read into rows,
each row checked with its error next to it and matched against the persons already
known, then one dossier with all its persons created in one transaction.

Everything in the file comes from outside: a cell is text, never a formula; every row
is checked again when the delegation is created, whatever the preview showed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook
from sqlalchemy import select

from . import audit, casework, names
from .clock import today
from .extensions import db
from .inputs import identifier, within_days
from .labels import LABELS
from .models import (
    Dossier,
    DossierKind,
    DossierPerson,
    Event,
    Person,
    PersonNameSuffix,
    User,
    VipCategory,
)
from .refusals import Refused

COLUMNS = ("name", "country", "function", "category", "arrival", "departure")
REQUIRED = COLUMNS[:4]
MAX_ROWS = 1000
MAX_FILE_BYTES = 5 * 1024 * 1024
# A delegation may arrive and leave this long before and after the event's days.
TRAVEL = dt.timedelta(days=2)


@dataclass
class Row:
    number: int  # the line in the list, the header being line 1
    name: str = ""
    country: str = ""
    function: str = ""
    category: VipCategory | None = None
    arrival: dt.date | None = None
    departure: dt.date | None = None
    errors: list[str] = field(default_factory=list)
    candidates: list[Person] = field(default_factory=list)  # known persons it may be

    @property
    def offered(self) -> list[Person]:
        """The known persons the preview shows for the line: none while it is wrong."""
        return [] if self.errors else self.candidates


@dataclass
class Reading:
    rows: list[Row]
    error: str | None = None  # of the whole list: no header, a wrong column, too long

    @property
    def refused_first(self) -> list[Row]:
        """The lines to correct at the top of a long list, then the others in order."""
        return [r for r in self.rows if r.errors] + [r for r in self.rows if not r.errors]

    @property
    def shown_persons(self) -> list[Person]:
        """Every known person the preview shows (their access report lists it)."""
        return [] if self.error else [p for row in self.rows for p in row.offered]

    @property
    def ready(self) -> bool:
        return self.error is None and bool(self.rows) and not any(r.errors for r in self.rows)


def text_of_file(data: bytes, filename: str) -> str:
    """A CSV or XLSX file as the CSV text the officer can then read and correct."""
    if len(data) > MAX_FILE_BYTES:
        raise Refused(_l("The file is larger than 5 MB: no delegation list is that long."))
    if filename.lower().endswith(".xlsx"):
        return _xlsx_text(data)
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:  # a NUL: some binary file, not a text
            return text
    raise Refused(_l("The file is neither a CSV text nor an XLSX workbook."))


def _xlsx_text(data: bytes) -> str:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise Refused(_l("The file is not an XLSX workbook that can be read.")) from None
    sheet = book.worksheets[0]
    out = io.StringIO()
    writer = csv.writer(out)
    for number, cells in enumerate(sheet.iter_rows(max_row=MAX_ROWS + 2), start=1):
        values = []
        for cell in cells:
            if cell.data_type == "f":
                book.close()
                raise Refused(
                    _l(
                        "Line %(n)d of the workbook holds a formula (%(cell)s): save the "
                        "list with values only.",
                        n=number,
                        cell=getattr(cell, "coordinate", "?"),
                    )
                )
            value = cell.value
            if isinstance(value, dt.datetime):
                value = value.date()
            values.append("" if value is None else str(value))
        writer.writerow(values)
    book.close()
    return out.getvalue()


def read(text: str, event: Event) -> Reading:
    """The list's rows, each checked; a list that cannot be read says why."""
    lines = list(csv.reader(io.StringIO(text), delimiter=_delimiter(text)))
    lines = [line for line in lines if any(cell.strip() for cell in line)]
    if not lines:
        return Reading([], str(_l("The list is empty.")))
    header = [cell.strip().lower() for cell in lines[0]]
    unknown = [h for h in header if h and h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing:
        return Reading(
            [],
            str(
                _l(
                    "The first line names the columns: %(columns)s (arrival and departure "
                    "may be left out). Unknown: %(unknown)s. Missing: %(missing)s.",
                    columns=", ".join(COLUMNS),
                    unknown=", ".join(unknown) or "–",
                    missing=", ".join(missing) or "–",
                )
            ),
        )
    if len(lines) - 1 > MAX_ROWS:
        return Reading([], str(_l("At most %(n)d persons in one list.", n=MAX_ROWS)))
    rows = [
        _row(number, dict(zip(header, line, strict=False)), event)
        for number, line in enumerate(lines[1:], 2)
    ]
    _mark_duplicates(rows)
    _match(rows)
    return Reading(rows)


def _delimiter(text: str) -> str:
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return ";" if first.count(";") > first.count(",") else ","


_CATEGORIES = {
    **{c.value: c for c in VipCategory},
    **{str(LABELS[c]).lower(): c for c in VipCategory},
}


def _row(number: int, cells: dict[str, str], event: Event) -> Row:
    row = Row(number)
    get = {key: (cells.get(key) or "").strip() for key in COLUMNS}
    row.name, row.country, row.function = get["name"], get["country"], get["function"]
    for key, limit, label in (
        ("name", 160, _l("a name")),
        ("function", 120, _l("a function")),
        ("country", 80, _l("a country")),
    ):
        if not get[key]:
            row.errors.append(str(_l("Give %(what)s.", what=label)))
        elif len(get[key]) > limit or any(ord(c) < 32 for c in get[key]):
            row.errors.append(
                str(_l("%(what)s is too long or holds control characters.", what=key))
            )
    category = get["category"].lower().replace(" ", "_")
    row.category = _CATEGORIES.get(category) or _CATEGORIES.get(get["category"].lower())
    if row.category is None:
        row.errors.append(
            str(
                _l(
                    "Unknown category “%(value)s”: one of %(known)s.",
                    value=get["category"][:40],
                    known=", ".join(c.value for c in VipCategory),
                )
            )
        )
    for key in ("arrival", "departure"):
        if not get[key]:
            continue
        day = _day(get[key])
        if day is None:
            row.errors.append(str(_l("%(what)s: not a date (2026-06-25 or 25/06/2026).", what=key)))
        elif not (event.start_date - TRAVEL <= day <= event.end_date + TRAVEL):
            row.errors.append(
                str(
                    _l(
                        "%(what)s is outside the event (its days, and two days before and "
                        "after for travel).",
                        what=key,
                    )
                )
            )
        else:
            setattr(row, key, day)
    if row.arrival and row.departure and row.departure < row.arrival:
        row.errors.append(str(_l("The departure is before the arrival.")))
    return row


def _day(text: str) -> dt.date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            day = dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        return day if within_days(day) else None
    return None


def _mark_duplicates(rows: list[Row]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (names.fold(row.name), names.fold(row.country))
        if key in seen and row.name:
            row.errors.append(str(_l("The same person as on line %(n)d.", n=seen[key])))
        seen.setdefault(key, row.number)


def _match(rows: list[Row]) -> None:
    """The known persons of the same name (whatever its case and accents), in one query:
    a whole name, folded, is one of its own suffixes (names.py)."""
    wanted = {names.fold(row.name) for row in rows if row.name}
    if not wanted:
        return
    known: dict[str, list[Person]] = {}
    named = select(PersonNameSuffix.person_id).where(PersonNameSuffix.suffix.in_(wanted))
    for person in db.session.scalars(
        select(Person).where(Person.id.in_(named)).order_by(Person.id)
    ):
        if names.fold(person.name) in wanted:  # not a longer name ending the same way
            known.setdefault(names.fold(person.name), []).append(person)
    for row in rows:
        row.candidates = known.get(names.fold(row.name), [])[:5]


def proposed_match(row: Row) -> Person | None:
    """The known person a row most likely is: same name and same country."""
    same = [p for p in row.candidates if names.fold(p.country or "") == names.fold(row.country)]
    return same[0] if len(same) == 1 else None


def create_delegation(
    event: Event,
    title: str,
    reading: Reading,
    matches: dict[int, str],
    actor: User,
) -> Dossier:
    """One VIP dossier for the event with every row's person, in the caller's one
    transaction: a row the officer matched to a known person links that person, any
    other row is a new person. All or nothing; audited as one import."""
    if not reading.ready:
        raise Refused(_l("Correct the lines marked in the preview first."))
    # The known persons chosen, locked before the dossier's first audit event: persons,
    # then the audit head, the order a retention run takes them in (casework.lock_rows).
    matched = {identifier(matches.get(row.number, "")) for row in reading.rows}
    casework.lock_rows(Person, Person.id.in_({i for i in matched if i is not None}))
    dossier = casework.create_dossier(
        kind=DossierKind.VIP_PROTECTION,
        title=title.strip() or event.name,
        opened_on=today(),
        actor=actor,
        ground=None,
    )
    casework.set_event(dossier, event, actor)
    linked: set[int] = set()
    for row in reading.rows:
        chosen = identifier(matches.get(row.number, ""))
        person = next((p for p in row.candidates if p.id == chosen), None)
        if person is not None and person.id not in linked:
            casework.link_person(dossier, person, actor)
        else:
            person = casework.add_new_person(
                dossier,
                name=row.name,
                function=row.function,
                category=row.category,
                country=row.country,
                actor=actor,
            )
        linked.add(person.id)
        link = db.session.get(DossierPerson, (dossier.id, person.id))
        if link is not None:
            link.arrival_date, link.departure_date = row.arrival, row.departure
    audit.record(
        "delegation.import",
        actor=actor,
        object_type="dossier",
        object_id=dossier.id,
        dossier=dossier,
        rows=len(reading.rows),
        matched=sum(1 for r in reading.rows if identifier(matches.get(r.number, ""))),
    )
    return dossier
