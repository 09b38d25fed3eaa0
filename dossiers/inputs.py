"""The shapes hostile input is held to before it reaches a query: ids and days.

Every id in a URL, a form or a cursor comes from someone who may send 2^64, "²" (a digit
to str.isdigit, not to int) or "-1"; every date field may hold 9999-12-31, which a day
after it cannot follow. These are refused here once, with a 404 or a field's message,
instead of as an overflow in the database driver or in date arithmetic.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from flask import abort, request
from werkzeug.routing import IntegerConverter

# Our ids are INTEGER columns: PostgreSQL's (and SQLite's) 32-bit positive range.
ID_MAX = 2**31 - 1
_DECIMAL = re.compile(r"[0-9]{1,10}")

# The days a form accepts: wide enough for any real date of birth or decision, narrow
# enough that a year's boundaries and a day after it always exist.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)


def identifier(value: object) -> int | None:
    """The id a text holds, or None when it holds none a row could have."""
    text = value if isinstance(value, str) else str(value) if isinstance(value, int) else ""
    if not _DECIMAL.fullmatch(text):
        return None
    number = int(text)
    return number if 0 < number <= ID_MAX else None


def counter(value: object) -> int | None:
    """A non-negative counter a form carries back (a version, a sequence number): an
    INTEGER column's, like an id (PostgreSQL binds it as one and refuses more)."""
    text = value if isinstance(value, str) else ""
    if not _DECIMAL.fullmatch(text) or int(text) > ID_MAX:
        return None
    return int(text)


class IdConverter(IntegerConverter):
    """`<int:…>` in our routes: an id in the columns' range, anything else a 404."""

    def __init__(self, map, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


def within_days(day: dt.date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


# What a person's typed text never holds: control characters (a text area sends only the
# line breaks and tabs kept here) and the invisible marks that reorder how the rest of a
# text reads (bidirectional embeddings, overrides and isolates).
_UNTYPED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def has_control_characters(text: str) -> bool:
    """Whether a free text holds a character no one types (see _UNTYPED)."""
    return _UNTYPED.search(text) is not None


def shows_nothing(text: str) -> bool:
    """Whether a text holds no letter, digit, punctuation or symbol: only spaces, line
    breaks and marks that show nothing (a zero-width space, a joiner), which str.strip()
    keeps and a required field would take for an answer."""
    return not any(unicodedata.category(c)[0] in "LNPS" for c in text)


# The views that take a file, and the body each accepts; every other request is held
# to MAX_CONTENT_LENGTH (1 MB). Set before anything reads the body (CSRF does).
BODY_LIMITS = {
    "events.new_delegation": 5 * 1024 * 1024 + 512 * 1024,
    "casework.add_document": 20 * 1024 * 1024 + 512 * 1024,  # documents.MAX_BYTES and the form
}


def apply_body_limit() -> None:
    limit = BODY_LIMITS.get(request.endpoint or "")
    if limit is None:
        return
    if (request.content_length or 0) > limit:
        abort(413)  # unread: no part of it is spooled to a temporary file
    request.max_content_length = limit
