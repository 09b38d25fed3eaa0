"""Who may do what: role rules on views, object checks, and scoped queries.

Every view declares its roles with @allow(...) or @public; a view without a
declaration fails the route matrix test. Objects are loaded through the helpers
here, which authorize in the same step and answer 404 whether the object does not
exist or the user may not see it, so that a guess learns nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, false, select
from sqlalchemy.orm import joinedload, selectinload

from .extensions import db, login_manager
from .models import Dossier, Measure, MeasureStatus, Role, User

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC: frozenset[Role] = frozenset()
ALL_ROLES = frozenset(Role)

REFERENCE = re.compile(r"(TP|VIP)-\d{4}-\d{4,6}")

# What each role may reach, by feature.
DOSSIER_ROLES = frozenset({Role.OFFICER})
PARTNER_ROLES = frozenset({Role.PARTNER})
STATISTICS_ROLES = frozenset({Role.OFFICER, Role.ANALYST})
ADMIN_ROLES = frozenset({Role.ADMIN})


def allow(*roles: Role) -> Callable[[F], F]:
    """Let only signed-in users with one of these roles reach the view."""
    allowed = frozenset(roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Mark a view as reachable without signing in."""
    view.allowed_roles = PUBLIC  # type: ignore[attr-defined]
    return view


def has_role(user: Any, *roles: Role) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role in roles


def can_read_names(user: User) -> bool:
    """Only officers read personal data in the statistics' drill-downs."""
    return has_role(user, *DOSSIER_ROLES)


def can_view_dossier(user: User, dossier: Dossier) -> bool:
    return has_role(user, *DOSSIER_ROLES)


def can_move_dossier(user: User, dossier: Dossier) -> bool:
    return has_role(user, Role.OFFICER)


def can_update_measure(user: User, measure: Measure) -> bool:
    """A partner updates only its own organisation's measures, while they are not lifted."""
    return (
        has_role(user, Role.PARTNER)
        and user.organisation_id is not None
        and measure.organisation_id == user.organisation_id
        and measure.status is not MeasureStatus.LIFTED
    )


def load_dossier(reference: str, user: User) -> Dossier:
    """Load a dossier the user may see, or answer 404."""
    if not has_role(user, *DOSSIER_ROLES) or not REFERENCE.fullmatch(reference.upper()):
        abort(404)
    dossier = db.session.scalar(
        select(Dossier)
        .options(
            joinedload(Dossier.event),
            joinedload(Dossier.lead_officer),
            selectinload(Dossier.persons),
            selectinload(Dossier.assessments),
            selectinload(Dossier.measures).joinedload(Measure.organisation),
            selectinload(Dossier.measures).joinedload(Measure.measure_type),
            selectinload(Dossier.measures).joinedload(Measure.person),
        )
        .where(Dossier.reference == reference.upper())
    )
    if dossier is None or not can_view_dossier(user, dossier):
        abort(404)
    return dossier


def partner_measures(user: User) -> Select[Measure]:
    """Select the measures assigned to the user's own organisation, and nothing else."""
    if not has_role(user, Role.PARTNER) or user.organisation_id is None:
        return select(Measure).where(false())
    return (
        select(Measure)
        .options(
            joinedload(Measure.dossier),
            joinedload(Measure.measure_type),
            joinedload(Measure.person),
        )
        .where(
            Measure.organisation_id == user.organisation_id,
            Measure.decided_at.is_not(None),
        )
    )


def load_partner_measure(measure_id: int, user: User) -> Measure:
    """Load one of the partner's own measures, or answer 404."""
    measure = db.session.scalar(partner_measures(user).where(Measure.id == measure_id))
    if measure is None:
        abort(404)
    return measure


def template_helpers() -> dict[str, Any]:
    """What templates may ask; they never re-derive roles themselves."""
    return {
        "Role": Role,
        "has_role": lambda *roles: has_role(current_user, *roles),
        "can_view_dossiers": has_role(current_user, *DOSSIER_ROLES),
        "can_view_statistics": has_role(current_user, *STATISTICS_ROLES),
        "can_admin": has_role(current_user, *ADMIN_ROLES),
        "is_partner": has_role(current_user, *PARTNER_ROLES),
        "can_update_measure": lambda m: can_update_measure(current_user, m),
    }
