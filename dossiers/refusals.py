"""The one way the domain says no, and what a step over several things did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Refused(Exception):
    """A request the rules refuse; its message says why, for the user.

    Raised by the domain (casework, workflow, accounts, freshness) before anything is
    committed; the views' `commit` helper rolls back and shows the message, next to the
    form's field named `field` when the form has one.
    """

    def __init__(self, message: Any, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Outcomes:
    """A step taken on several things at once (delegations, measures): each done, or
    refused alone with why, as if it had been taken alone."""

    done: list[Any] = field(default_factory=list)
    refused: list[tuple[Any, str]] = field(default_factory=list)
