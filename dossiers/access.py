"""Who may do what: the endpoint policy, object checks, and scoped queries.

POLICY is the one table of who may reach each endpoint; a request to an endpoint
missing from it is refused. Objects are loaded through the helpers here, which
authorize in the same step and answer 404 whether the object does not exist or the
user may not see it, so that a guess learns nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from flask import abort, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    bindparam,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import joinedload

from . import audit, keyset, queries
from .extensions import db, login_manager
from .inputs import identifier
from .keyset import Key, Window
from .models import (
    Document,
    Dossier,
    Event,
    Measure,
    MeasureMessage,
    MeasureStatus,
    Organisation,
    Person,
    Role,
    ThreatAssessment,
    User,
    counts_as_decided,
    is_current_measure,
    put_to_service_at,
)

# Not an empty set: an endpoint whose role set ends up empty must mean nobody, not anyone.
PUBLIC: frozenset[Role | str] = frozenset({"anyone, signed in or not"})
ALL_ROLES = frozenset(Role)

REFERENCE = re.compile(r"(TP|VIP)-\d{4}-\d{4,6}")

# What each role may reach, by feature.
DOSSIER_ROLES = frozenset({Role.OFFICER})
PARTNER_ROLES = frozenset({Role.PARTNER})
STATISTICS_ROLES = frozenset({Role.OFFICER, Role.ANALYST})
ADMIN_ROLES = frozenset({Role.ADMIN})


# Who may reach each endpoint. PUBLIC: without signing in.
POLICY: dict[str, frozenset[Role] | frozenset[Role | str]] = {
    "static": PUBLIC,
    "bootstrap.static": PUBLIC,
    "main.healthz": PUBLIC,
    "main.readyz": PUBLIC,
    "main.set_language": PUBLIC,
    "main.index": ALL_ROLES,
    "auth.login": PUBLIC,
    "auth.totp": PUBLIC,  # the view itself requires the password step first
    "auth.enrol": PUBLIC,  # likewise
    "auth.forgotten_password": PUBLIC,
    "auth.account_link": PUBLIC,  # the view itself requires a valid mailed link
    "auth.set_password": PUBLIC,  # likewise
    "auth.logout": ALL_ROLES,
    "auth.change_password": ALL_ROLES,
    "dashboard.index": DOSSIER_ROLES,
    "dossiers.index": DOSSIER_ROLES,
    "dossiers.new": DOSSIER_ROLES,
    "dossiers.detail": DOSSIER_ROLES,
    "dossiers.transition": DOSSIER_ROLES,
    "dossiers.print": DOSSIER_ROLES,
    "dossiers.message_handled": DOSSIER_ROLES,
    "dossiers.legal_hold": DOSSIER_ROLES,
    "dossiers.lift_legal_hold": DOSSIER_ROLES,
    "casework.persons": DOSSIER_ROLES,
    "casework.link_person": DOSSIER_ROLES,
    "casework.edit_person": DOSSIER_ROLES,
    "casework.remove_person": DOSSIER_ROLES,
    "casework.new_assessment": DOSSIER_ROLES,
    "casework.event": DOSSIER_ROLES,
    "casework.approval": DOSSIER_ROLES,
    "casework.new_measure": DOSSIER_ROLES,
    "casework.lift_measure": DOSSIER_ROLES,
    "casework.hand_over": DOSSIER_ROLES,
    "casework.add_document": DOSSIER_ROLES,
    "casework.document": DOSSIER_ROLES,
    "casework.withdraw_document": DOSSIER_ROLES,
    "casework.add_note": DOSSIER_ROLES,
    "casework.edit_assessment": DOSSIER_ROLES,
    "casework.withdraw_assessment": DOSSIER_ROLES,
    "casework.edit_measure": DOSSIER_ROLES,
    "casework.withdraw_measure": DOSSIER_ROLES,
    "events.index": DOSSIER_ROLES,
    "events.month": DOSSIER_ROLES,
    "events.new": DOSSIER_ROLES,
    "events.edit": DOSSIER_ROLES,
    "events.detail": DOSSIER_ROLES,
    "events.new_delegation": DOSSIER_ROLES,
    "events.standard_measures": DOSSIER_ROLES,
    "events.remove_standard_measure": DOSSIER_ROLES,
    "events.apply_standard_measures": DOSSIER_ROLES,
    "events.approval": DOSSIER_ROLES,
    "events.step": DOSSIER_ROLES,
    "measures.index": PARTNER_ROLES,
    "measures.detail": PARTNER_ROLES,
    "measures.events": PARTNER_ROLES,
    "measures.event": PARTNER_ROLES,
    "measures.message": PARTNER_ROLES,
    "statistics.index": STATISTICS_ROLES,
    "statistics.year": STATISTICS_ROLES,
    "statistics.figure": STATISTICS_ROLES,
    "statistics.chart": STATISTICS_ROLES,
    "statistics.export": STATISTICS_ROLES,
    "statistics.figure_export": STATISTICS_ROLES,
    "admin.users": ADMIN_ROLES,
    "admin.new_user": ADMIN_ROLES,
    "admin.edit_user": ADMIN_ROLES,
    "admin.reset_two_factor": ADMIN_ROLES,
    "admin.enrolment_code": ADMIN_ROLES,
    "admin.invite_user": ADMIN_ROLES,
    "admin.organisations": ADMIN_ROLES,
    "admin.new_organisation": ADMIN_ROLES,
    "admin.edit_organisation": ADMIN_ROLES,
    "admin.measure_types": ADMIN_ROLES,
    "admin.add_standard_measure_types": ADMIN_ROLES,
    "admin.new_measure_type": ADMIN_ROLES,
    "admin.edit_measure_type": ADMIN_ROLES,
    "admin.audit_log": ADMIN_ROLES,
    "admin.audit_csv": ADMIN_ROLES,
    "admin.access_report": ADMIN_ROLES,
    "admin.access_report_csv": ADMIN_ROLES,
    "admin.mail": ADMIN_ROLES,
    "admin.retry_mail": ADMIN_ROLES,
    "admin.mailbox": ADMIN_ROLES,  # development only: 404 under any other mail backend
    "admin.mailbox_mail": ADMIN_ROLES,
}


def enforce_policy() -> Any:
    """Refuse a request the policy does not allow, before its view runs."""
    if request.endpoint is None:
        return None  # no route matched: the 404 handler answers
    roles = POLICY.get(request.endpoint)
    if roles is None:
        abort(403)  # an endpoint nobody declared is nobody's
    if roles == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.must_change_password and request.endpoint not in FIRST_PASSWORD_PAGES:
        # An administrator's password for them: their own first, before any other page.
        back = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("auth.change_password", next=back))
    if current_user.role not in roles:
        refuse(403)
    return None


# What an account with a password an administrator chose may reach before choosing its
# own (besides the public pages).
FIRST_PASSWORD_PAGES = frozenset({"auth.change_password", "auth.logout"})


def refuse(status: int) -> NoReturn:
    """Record a signed-in user's refused attempt in the audit trail, then refuse it."""
    if current_user.is_authenticated:
        db.session.rollback()
        audit.record(
            "access.refused",
            actor=current_user,
            object_type="endpoint",
            object_id=None,
            outcome="refused",
            endpoint=request.endpoint,
            method=request.method,
            path=request.path[:200],
            status=status,
        )
        db.session.commit()
    abort(status)


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
    """A partner updates only its own organisation's measures, until they end."""
    return (
        has_role(user, Role.PARTNER)
        and user.organisation_id is not None
        and measure.organisation_id == user.organisation_id
        and not measure.ended
    )


def load_dossier(reference: str, user: User) -> Dossier:
    """Load a dossier the user may see, or answer 404, with its persons, assessments and
    measures (in their relationships' order)."""
    if not has_role(user, *DOSSIER_ROLES) or not REFERENCE.fullmatch(reference.upper()):
        refuse(404)
    dossier = queries.dossier_by_reference(reference.upper())
    if dossier is None or not can_view_dossier(user, dossier):
        refuse(404)
    return dossier


# The objects inside a dossier, loaded through the dossier that was authorized: an id
# from another dossier is absent here, whatever it names elsewhere.


def dossier_person(dossier: Dossier, person_id: int) -> Person:
    """One of the dossier's persons, or 404."""
    return _member(dossier.persons, person_id)


def dossier_assessment(dossier: Dossier, assessment_id: int) -> ThreatAssessment:
    """One of the dossier's threat assessments, or 404."""
    return _member(dossier.assessments, assessment_id)


def dossier_document(dossier: Dossier, document_id: int) -> Document:
    """One of the dossier's documents, or 404 (the same answer for another dossier's)."""
    found = db.session.scalar(
        select(Document).where(Document.id == document_id, Document.dossier_id == dossier.id)
    )
    if found is None:
        refuse(404)
    return found


def dossier_measure(dossier: Dossier, measure_id: int) -> Measure:
    """One of the dossier's measures, or 404."""
    return _member(dossier.measures, measure_id)


def dossier_message(dossier: Dossier, message_id: int) -> MeasureMessage:
    """A partner's message on one of the dossier's measures, or 404."""
    found = db.session.scalar(
        select(MeasureMessage)
        .join(Measure, Measure.id == MeasureMessage.measure_id)
        .where(MeasureMessage.id == message_id, Measure.dossier_id == dossier.id)
    )
    if found is None:
        refuse(404)
    return found


def chosen_person(dossier: Dossier, person_id: int | None) -> Person | None:
    """The person a form chose among the dossier's (None: the whole dossier)."""
    return None if person_id is None else dossier_person(dossier, person_id)


T = TypeVar("T", Person, ThreatAssessment, Measure)


def member(items: list[T], wanted: int) -> T | None:
    """The item of a dossier's list with this id, if it has one."""
    return next((item for item in items if item.id == wanted), None)


def _member(items: list[T], wanted: int) -> T:
    found = member(items, wanted)
    if found is None:
        refuse(404)
    return found


def known_person(person_id: object) -> Person | None:
    """A person already known to the service (any dossier), by the id a form sent."""
    found = identifier(person_id)
    return db.session.get(Person, found) if found is not None else None


def partner_scope(user: User) -> ColumnElement[bool]:
    """The decided measures assigned to the user's own organisation, and nothing else.
    A withdrawn one (a wrong entry) is not the partner's either: every use adds a status
    condition that excludes it (the current or the lifted ones in the lists, which keeps
    their counts on the partial index; counts_as_decided in partner_measures)."""
    if not has_role(user, Role.PARTNER) or user.organisation_id is None:
        return false()
    return and_(Measure.organisation_id == user.organisation_id, Measure.decided_at.is_not(None))


def partner_measures(user: User) -> Select[Measure]:
    """Select the measures assigned to the user's own organisation, and nothing else."""
    return (
        select(Measure)
        .options(
            joinedload(Measure.dossier),
            joinedload(Measure.measure_type),
            joinedload(Measure.person),
        )
        .where(partner_scope(user), counts_as_decided())
    )


# A partner's list, newest first; the id makes the order total for keyset pagination.
NEWEST_FIRST = (Key(Measure.start_date, descending=True), Key(Measure.id, descending=True))


def partner_measure_page(
    user: User, lifted: bool, *, after: str | None, before: str | None
) -> Window:
    """A page of the partner's current measures, or of its lifted ones; counted without
    the joins that only name what a row shows. A withdrawn measure (a wrong entry) is
    no longer the partner's at all."""
    shown = Measure.status == MeasureStatus.LIFTED if lifted else is_current_measure()
    return keyset.window(
        queries.partner_measure_rows()
        .add_columns(new_to(user).label("new"))
        .where(partner_scope(user), shown),
        NEWEST_FIRST,
        after=after,
        before=before,
        counted=select(Measure.id).where(partner_scope(user), shown),
    )


# "New since your last visit": decided, or put to the service again, after the user's
# previous visit ended; every one on a first visit. The same rule as a condition (lists,
# counts) and for a loaded measure.
def new_to(user: User) -> ColumnElement[bool]:
    if user.previous_visit_at is None:
        return true()
    since = user.previous_visit_at
    # Put to the service again (moved to it, or changed): still to acknowledge, changed
    # since. A report of the service's own also moves updated_at, but not while requested.
    return or_(
        Measure.decided_at > since,
        and_(Measure.status == MeasureStatus.REQUESTED, put_to_service_at() > since),
    )


def is_new_to(user: User, measure: Measure) -> bool:
    """`new_to`, for a measure in hand."""
    if measure.decided_at is None:
        return False
    since = user.previous_visit_at
    if since is None or measure.decided_at > since:
        return True
    return measure.status is MeasureStatus.REQUESTED and measure.updated_at > since


def partner_new_count(user: User) -> int:
    """How many of the partner's current measures are new since its last visit."""
    return (
        db.session.scalar(
            select(func.count(Measure.id)).where(
                partner_scope(user), is_current_measure(), new_to(user)
            )
        )
        or 0
    )


# A partner's events, the latest first.
EVENTS_NEWEST_FIRST = (Key(Event.start_date, descending=True), Key(Event.id, descending=True))


def partner_events_page(user: User, *, after: str | None, before: str | None) -> Window:
    """The events at which the partner has current measures, each with how many and how
    many still wait for its acknowledgement."""
    current = and_(partner_scope(user), is_current_measure())
    requested = func.count(Measure.id).filter(Measure.status == MeasureStatus.REQUESTED)
    grouped = (
        select(Event, func.count(Measure.id).label("measures"), requested.label("requested"))
        .join(Dossier, Dossier.event_id == Event.id)
        .join(Measure, Measure.dossier_id == Dossier.id)
        .where(current)
        .group_by(Event.id)
    )
    return keyset.window(
        grouped,
        EVENTS_NEWEST_FIRST,
        after=after,
        before=before,
        counted=select(Dossier.event_id)
        .join(Measure, Measure.dossier_id == Dossier.id)
        .where(current, Dossier.event_id.is_not(None))
        .distinct(),
    )


def partner_event_measures(event_id: int, user: User) -> tuple[Event, list[Measure]]:
    """An event and the partner's own current measures at it; 404 when it has none
    there (as for a measure that is not its own)."""
    found = list(
        db.session.scalars(
            partner_measures(user)
            .join(Dossier, Dossier.id == Measure.dossier_id)
            .options(joinedload(Measure.organisation))
            .where(Dossier.event_id == event_id, is_current_measure())
            .order_by(Dossier.reference, Measure.id)
        ).unique()
    )
    event = found[0].dossier.event if found else None
    if event is None:
        refuse(404)
    return event, found


def load_partner_measure(measure_id: int, user: User) -> Measure:
    """Load one of the partner's own measures, or answer 404."""
    measure = db.session.scalar(partner_measures(user).where(Measure.id == measure_id))
    if measure is None:
        refuse(404)
    return measure


@dataclass(frozen=True)
class Visibility:
    """One line of a dossier's access trace: who, how many, and why."""

    who: str
    people: list[str]
    why: Any


def who_can_see(dossier: Dossier) -> list[Visibility]:
    """The dossier's access trace for officers, from the same rules that enforce it."""
    officers: list[str] = []
    by_organisation: dict[str, list[str]] = {}
    for organisation, name in db.session.execute(_who_can_see(), {"dossier_id": dossier.id}):
        if organisation is None:
            officers.append(name)
        else:
            by_organisation.setdefault(organisation, []).append(name)
    lines = [
        Visibility(
            str(_l("Crisis-centre officers")), officers, _l("Officers see every dossier, in full.")
        )
    ]
    for organisation, names in by_organisation.items():
        lines.append(
            Visibility(
                organisation,
                names,
                _l(
                    "Decided measures assigned to this partner: they see those measures only, with "
                    "the reference, the protected person, the threat level and the period."
                ),
            )
        )
    lines.append(
        Visibility(
            str(_l("Statistics readers")),
            [],
            _l("The reference and dates in the yearly figures, never names or contents."),
        )
    )
    lines.append(
        Visibility(
            str(_l("Administrators")),
            [],
            _l("Nothing of the dossier: they manage accounts and read the audit trail."),
        )
    )
    return lines


def _who_can_see() -> CompoundSelect:
    """Active officers (no organisation), then the active partner accounts of the services
    with a decided measure in the dossier, in one statement: ordered by service, then
    name, officers apart whichever end the database puts the empty service."""
    officers = select(null().label("organisation"), User.full_name).where(
        User.role == Role.OFFICER, User.active
    )
    # Start from this dossier's measures: a join lets SQLite start from the (few)
    # partner accounts and walk every measure of their services.
    assigned = select(Measure.organisation_id).where(
        Measure.dossier_id == bindparam("dossier_id"), counts_as_decided()
    )
    partners = (
        select(Organisation.name.label("organisation"), User.full_name)
        .join(
            User,
            and_(User.organisation_id == Organisation.id, User.role == Role.PARTNER, User.active),
        )
        .where(Organisation.id.in_(assigned))
    )
    return union_all(officers, partners).order_by(literal_column("1"), literal_column("2"))


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
