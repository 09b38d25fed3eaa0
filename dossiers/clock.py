"""The centre's clock: every date a person reads or types is a Brussels date; every
stored time is UTC (naive, in the database).

"Today", a date field's default and limit, the year a dossier was opened, "the state on
31 December": all Brussels dates. Half past midnight on 1 January in Brussels is still
31 December in UTC, so a date taken from a UTC time is a day early for an hour or two.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from zoneinfo import ZoneInfo

ZONE_NAME = "Europe/Brussels"
ZONE = ZoneInfo(ZONE_NAME)

# Set only inside `as_of`: a history replayed on its own dates.
_REPLAYED: ContextVar[dt.datetime | None] = ContextVar("replayed_now", default=None)


def now_utc() -> dt.datetime:
    """Now, as stored: UTC without a zone."""
    return _REPLAYED.get() or dt.datetime.now(dt.UTC).replace(tzinfo=None)


@contextmanager
def as_of(at: dt.datetime) -> Iterator[None]:
    """Within the block, now (and today) is the stored time `at`: for recording a history
    on the days it happened (the demo data set), its audit events included; never for a
    request. The audit chain stays valid: it is ordered by sequence, not by time."""
    token = _REPLAYED.set(at)
    try:
        yield
    finally:
        _REPLAYED.reset(token)


def local(at: dt.datetime) -> dt.datetime:
    """A stored time on the centre's clock."""
    return at.replace(tzinfo=dt.UTC).astimezone(ZONE)


def today() -> dt.date:
    """The centre's date now."""
    return local(now_utc()).date()


def date_of(at: dt.datetime) -> dt.date:
    """The centre's date of a stored time."""
    return local(at).date()


def start_of(day: dt.date) -> dt.datetime:
    """The stored (UTC) time at which the centre's day begins."""
    return dt.datetime.combine(day, dt.time(), tzinfo=ZONE).astimezone(dt.UTC).replace(tzinfo=None)


def end_of_year(year: int) -> dt.datetime:
    """The stored time at which the year ends on the centre's clock."""
    return start_of(dt.date(year + 1, 1, 1))


def day(on: dt.date | None) -> str:
    """A date as the centre reads it, digits only: the same in every language."""
    return on.strftime("%d/%m/%Y") if on else ""


def moment(at: dt.datetime | None) -> str:
    """A stored time as the centre reads it, digits only: the same in every language."""
    return local(at).strftime("%d/%m/%Y %H:%M") if at else ""
