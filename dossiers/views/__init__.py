"""One blueprint per feature, and the one way a view commits or shows a refusal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash
from flask_babel import gettext as _

from ..extensions import db
from ..refusals import Refused


def reason_read(form: Any) -> bool:
    """Whether a confirmation's reason form could be read; if not, say why."""
    if form.validate_on_submit():
        return True
    flash(_("The reason is too long."), "danger")
    return False


@dataclass(frozen=True)
class Outcome:
    """True when the work was committed; `value` is what it returned."""

    committed: bool
    value: Any = None

    def __bool__(self) -> bool:
        return self.committed


def commit(work: Callable[[], Any], done: str | None = None, *, field: Any = None) -> Outcome:
    """Do the domain work and commit it, flashing `done`; or, when the rules refuse it,
    roll back and show why: next to the form's `field`, else as a flashed message."""
    try:
        value = work()
    except Refused as refusal:
        db.session.rollback()
        if field is not None:
            field.errors.append(str(refusal))
        else:
            flash(str(refusal), "danger")
        return Outcome(False)
    db.session.commit()
    if done:
        flash(done, "success")
    return Outcome(True, value)
