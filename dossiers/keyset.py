"""Keyset pagination: a page starts after the last row of the one before it.

An offset makes the database walk past every skipped row, so the hundredth page of a
long history costs a hundred pages; a key condition lets an index start at the right
row, so every page costs the same however deep it is.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import request
from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from .extensions import db
from .inputs import ID_MAX

COUNT_CAP = 1000


@dataclass(frozen=True)
class Key:
    expression: Any  # a column or SQL expression the query can order by
    descending: bool = False


@dataclass(frozen=True)
class Window:
    items: list[Any]
    total: int
    total_capped: bool  # total says "at least": counting further would cost a scan
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_more_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


def encode(values: Sequence[Any]) -> str:
    plain = [_tagged(v) for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode(cursor: str | None, arity: int) -> list[Any] | None:
    """The key values of a cursor, or None for a missing or malformed one (first page)."""
    if not cursor or len(cursor) > 400:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = json.loads(raw)
        if not isinstance(plain, list) or len(plain) != arity:
            return None
        return [_untagged(v) for v in plain]
    except (ValueError, binascii.Error, TypeError, UnicodeDecodeError):
        return None


def _tagged(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if hasattr(value, "value"):  # an enum stored by its value
        return value.value
    return value


def _untagged(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"t"}:
            return dt.datetime.fromisoformat(value["t"])
        if set(value) == {"d"}:
            return dt.date.fromisoformat(value["d"])
        raise ValueError("unknown tag")
    if value is not None and not isinstance(value, int | str):
        raise ValueError("not a key value")
    return value


def _fits(value: Any, expression: Any) -> bool:
    """Whether a cursor's value can be compared with its key without a database error: a
    cursor is sent back by the browser, and a hostile one decodes to anything."""
    if value is None:
        return True
    try:
        expected = expression.type.python_type
    except (AttributeError, NotImplementedError):
        expected = None
    if isinstance(value, bool):
        return expected is bool
    if isinstance(value, int):
        # Our integer keys are INTEGER columns, which PostgreSQL binds as 32-bit.
        return expected in (int, None) and -ID_MAX <= value <= ID_MAX
    if isinstance(value, dt.datetime):
        return expected in (dt.datetime, None) and value.tzinfo is None  # stored naive UTC
    if isinstance(value, dt.date):
        return expected in (dt.date, None)
    if isinstance(value, str):
        if isinstance(expected, type) and issubclass(expected, enum.Enum):
            return value in {member.value for member in expected}
        # Our keys' text is printable: a surrogate or a NUL would fail in the driver.
        return expected in (str, None) and len(value) <= 400 and value.isprintable()
    return False


def _position(cursor: str | None, keys: Sequence[Key]) -> list[Any] | None:
    """A cursor's key values; None (the first page) for a cursor no page of ours gave."""
    values = decode(cursor, len(keys))
    if values is None or not all(map(_fits, values, [k.expression for k in keys])):
        return None
    return values


def _beyond(keys: Sequence[Key], values: Sequence[Any], backwards: bool) -> ColumnElement[bool]:
    """Rows strictly after (or before) the given key, for keys of mixed directions."""
    alternatives = []
    for i, key in enumerate(keys):
        later = key.descending != backwards
        step = key.expression < values[i] if later else key.expression > values[i]
        equal = [keys[j].expression == values[j] for j in range(i)]
        alternatives.append(and_(*equal, step))
    return or_(*alternatives)


def window(
    query: Select,
    keys: Sequence[Key],
    *,
    after: str | None = None,
    before: str | None = None,
    size: int = 25,
    count_cap: int | None = COUNT_CAP,
    counted: Select | None = None,
) -> Window:
    """One page of `query` in key order, in two queries (rows, and a capped count).

    The last key must make the order total (an id), or rows with equal keys could be
    skipped between pages. `counted` selects the same rows without what is only shown
    (joins for names), so that counting does not read it.
    """
    values = _position(before, keys)
    backwards = values is not None
    if not backwards:
        values = _position(after, keys)
    labelled = [
        (k.expression.label(f"_key{i}") if hasattr(k.expression, "label") else k.expression)
        for i, k in enumerate(keys)
    ]
    paged = query.add_columns(*labelled).order_by(None)
    if values is not None:
        paged = paged.where(_beyond(keys, values, backwards))
    order = [k.expression.desc() if k.descending != backwards else k.expression.asc() for k in keys]
    rows = list(db.session.execute(paged.order_by(*order).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    width = len(query.column_descriptions)  # entities or columns before the keys

    def cursor(row) -> str:
        return encode(row[width:])

    has_next = (more or False) if not backwards else True
    has_previous = more if backwards else values is not None
    total, capped = count(query if counted is None else counted, count_cap)
    return Window(
        items=[row[0] if width == 1 else row for row in rows],
        total=total,
        total_capped=capped,
        next_cursor=cursor(rows[-1]) if rows and has_next else None,
        previous_cursor=cursor(rows[0]) if rows and has_previous else None,
    )


def count(query: Select, cap: int | None) -> tuple[int, bool]:
    """How many rows the query selects, counting no further than the cap."""
    bounded = query.order_by(None)
    if cap is not None:
        bounded = bounded.limit(cap + 1)
    total = db.session.scalar(select(func.count()).select_from(bounded.subquery())) or 0
    if cap is not None and total > cap:
        return cap, True
    return total, False


def filters() -> dict[str, str]:
    """The request's query arguments without its position, for the pager's links."""
    return {k: v for k, v in request.args.items() if k not in ("after", "before", "page")}
