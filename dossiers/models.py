"""The domain tables. Models never commit and never read the current user."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    DDL,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .clock import now_utc
from .extensions import Base, db
from .sealing import Sealed

if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


def enum_type(enum: type[StrEnum]) -> Enum:
    """Store an enum by its value, as a plain string the database can read."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class Role(StrEnum):
    OFFICER = "officer"
    PARTNER = "partner"
    ANALYST = "analyst"
    ADMIN = "admin"


class OrganisationKind(StrEnum):
    CRISIS_CENTRE = "crisis_centre"
    FEDERAL_POLICE = "federal_police"
    LOCAL_POLICE = "local_police"
    OTHER = "other"


class DossierKind(StrEnum):
    THREATENED_PERSON = "threatened_person"
    VIP_PROTECTION = "vip_protection"

    @property
    def prefix(self) -> str:
        return "TP" if self is DossierKind.THREATENED_PERSON else "VIP"


class DossierState(StrEnum):
    INTAKE = "intake"
    ASSESSMENT = "assessment"
    MEASURES_DECIDED = "measures_decided"
    CLOSED = "closed"


class ThreatGround(StrEnum):
    FUNCTION = "function"
    PROFESSION = "profession"
    SOCIAL_ROLE = "social_role"


class VipCategory(StrEnum):
    HEAD_OF_STATE = "head_of_state"
    HEAD_OF_GOVERNMENT = "head_of_government"
    MINISTER = "minister"
    OTHER = "other"


class AssessmentSource(StrEnum):
    OCAM = "ocam"
    FEDERAL_POLICE = "federal_police"
    OTHER = "other"


class EventKind(StrEnum):
    EU_MINISTERIAL_COUNCIL = "eu_ministerial_council"
    NATO_MINISTERIAL = "nato_ministerial"
    EUROPEAN_SUMMIT = "european_summit"
    NATO_SUMMIT = "nato_summit"
    STATE_VISIT = "state_visit"
    OTHER = "other"


class MeasureStatus(StrEnum):
    REQUESTED = "requested"
    ACKNOWLEDGED = "acknowledged"
    IN_EXECUTION = "in_execution"
    LIFTED = "lifted"
    # A wrong entry taken back, with its reason: shown as such, counted nowhere.
    WITHDRAWN = "withdrawn"


# A measure that no partner carries out any more.
ENDED_STATUSES = (MeasureStatus.LIFTED, MeasureStatus.WITHDRAWN)


# A partner's current measures: decided, and neither lifted nor withdrawn. Spelled the
# same in the partial index and in the query (is_current_measure); both terms in the
# index let a partner's list be counted from the index alone.
CURRENT_MEASURE_SQL = "status NOT IN ('lifted', 'withdrawn') AND decided_at IS NOT NULL"


def is_current_measure():
    from sqlalchemy import and_, literal

    return and_(
        Measure.status.not_in(
            [literal(status.value, literal_execute=True) for status in ENDED_STATUSES]
        ),
        Measure.decided_at.is_not(None),
    )


def counts_as_decided():
    """The one rule for a measure the crisis centre decided: what the figures count, the
    event's coverage reads and a dossier needs to count as protected. A withdrawn
    measure was a wrong entry: it counts nowhere."""
    from sqlalchemy import and_

    return and_(Measure.decided_at.is_not(None), Measure.status != MeasureStatus.WITHDRAWN)


def is_unacknowledged():
    """A decided measure its service has not acknowledged yet: the dashboard's list and
    count, the officers' digest and the services' reminders."""
    from sqlalchemy import and_

    return and_(Measure.status == MeasureStatus.REQUESTED, Measure.decided_at.is_not(None))


def put_to_service_at():
    """When a decided measure was last put to its service: its decision, or the later
    correction that put it back to its service (corrections.correct_measure sets
    updated_at; the decision sets decided_at alone). An unacknowledged measure's
    updated_at moves with nothing else: acknowledging, lifting and withdrawing end that."""
    from sqlalchemy import case

    return case(
        (Measure.updated_at > Measure.decided_at, Measure.updated_at),
        else_=Measure.decided_at,
    )


class Organisation(Model):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[OrganisationKind] = mapped_column(enum_type(OrganisationKind))
    active: Mapped[bool] = mapped_column(default=True)
    # The service's functional mailbox (not a person's), for notifications.
    mailbox: Mapped[str] = mapped_column(String(254), default="", server_default="")
    # The language its mails are written in: nl or fr.
    language: Mapped[str] = mapped_column(String(5), default="nl", server_default="nl")


class User(Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    # Two-factor sign-in: the TOTP secret (encrypted at rest), when it was confirmed, the
    # last time step used (a code is good once), and the sha256 hashes of the unused
    # recovery codes.
    # Deferred: read (and decrypted) only by the second-factor step, so that a key missing
    # from TOTP_KEYS stops that step alone, not every page that loads an account.
    totp_secret: Mapped[str | None] = mapped_column(Sealed, deferred=True)
    totp_confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    recovery_codes: Mapped[str] = mapped_column(Text, default="[]")
    # A first enrolment asks for a one-time code an administrator issued: the password
    # alone never sets up a second factor. Its sha256 and its end.
    enrolment_code_hash: Mapped[str | None] = mapped_column(String(64))
    enrolment_code_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # nl, fr or en; None: the browser's language.
    language: Mapped[str | None] = mapped_column(String(5))
    # A password someone else chose (an administrator): its holder chooses their own
    # before any other page (access.enforce_policy).
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # When this user's visit before the current one ended (their previous session last
    # seen), set at sign-in: a partner's measures decided since are marked new.
    previous_visit_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # When the holder last chose their own password; None: they never have (an invited
    # account, or one with an administrator's first password). Only such an account may
    # be invited: an invitation also stands for the enrolment code.
    password_chosen_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    organisation: Mapped[Organisation | None] = relationship()

    # Flask-Login identifies a signed-in browser by its server-side session, not by
    # the user id, so that a session can be revoked on its own.
    # Not a column: set per request by auth.py.
    __allow_unmapped__ = True
    session_token: str | None = None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_token


class UserSession(Model):
    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class LoginFailure(Model):
    """A refused sign-in, kept a short while to slow and then stop guessing. The email
    is kept as a keyed hash, so that the table names nobody. Counted here, on the server,
    so that no cookie a browser replays can reset the count."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_email_at", "email_hash", "at"),
        Index("ix_login_failure_addr_at", "remote_addr", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    remote_addr: Mapped[str] = mapped_column(String(64))
    # Which step failed: the password, or the second factor (an authenticator, recovery
    # or enrolment code) of an account whose password was right.
    step: Mapped[str] = mapped_column(String(16), default="password", server_default="password")
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)


class Person(Model):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)  # optimistic lock, as on Dossier
    __mapper_args__ = {"version_id_col": version}
    name: Mapped[str] = mapped_column(String(160), index=True)
    function: Mapped[str] = mapped_column(String(120), default="")
    category: Mapped[VipCategory | None] = mapped_column(enum_type(VipCategory))
    country: Mapped[str | None] = mapped_column(String(80))
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    # When a retention run replaced the name with the pseudonym (purge.py): such a person
    # is in no dossier still kept, and is linked to none again.
    pseudonymised_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class PersonNameSuffix(Model):
    """Every ending of every person's name, folded (dossiers/names.py), from three
    characters on: a search for any part of a name is then one range of one b-tree, and
    costs what it finds rather than what the table holds."""

    __tablename__ = "person_name_suffix"
    __table_args__ = {"sqlite_with_rowid": False}

    # Byte (code point) order on both databases, so that a prefix is a range.
    suffix: Mapped[str] = mapped_column(
        Text().with_variant(Text(collation="C"), "postgresql"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True, index=True)


class Event(Model):
    __tablename__ = "event"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="period"),
        # The events not yet over (a short range), and the past latest ended first.
        Index("ix_event_end_date", "end_date", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[EventKind] = mapped_column(enum_type(EventKind))
    start_date: Mapped[dt.date] = mapped_column(Date, index=True)
    end_date: Mapped[dt.date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(120), default="")
    # Who hosts it: the Council's presidency, NATO, the Royal Palace for a state visit.
    host: Mapped[str] = mapped_column(String(120), default="", server_default="")


class ReferenceCounter(Model):
    """The last sequence number handed out per dossier kind and year."""

    __tablename__ = "reference_counter"

    kind: Mapped[DossierKind] = mapped_column(enum_type(DossierKind), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)


class DossierPerson(Model):
    __tablename__ = "dossier_person"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True, index=True)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    # A VIP's own days at the event, from a delegation list (optional).
    arrival_date: Mapped[dt.date | None] = mapped_column(Date)
    departure_date: Mapped[dt.date | None] = mapped_column(Date)
    # Protected as a family member of another person of the dossier ("spouse", "son").
    family_of_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    relation: Mapped[str] = mapped_column(String(60), default="", server_default="")


# Spelled the same in the partial index and in the query (is_open_dossier).
OPEN_DOSSIER_SQL = "state <> 'closed'"


def is_open_dossier():
    from sqlalchemy import literal

    return Dossier.state != literal(DossierState.CLOSED.value, literal_execute=True)


def is_review_due(on: dt.date):
    """An open dossier whose current assessment asks for a review by `on` (review_on is
    the current assessment's, kept by the listeners below ThreatAssessment): the
    dashboard, the list filter and the officers' digest. Read from the partial index
    ix_dossier_open_review_on."""
    from sqlalchemy import and_

    return and_(is_open_dossier(), Dossier.review_on <= on)


class Dossier(Model):
    __tablename__ = "dossier"
    __table_args__ = (
        UniqueConstraint("kind", "year", "sequence"),
        Index("ix_dossier_state_opened_on", "state", "opened_on"),
        Index("ix_dossier_kind_opened_on", "kind", "opened_on"),
        # The list's order, newest first: a page is an index range however deep it is.
        Index("ix_dossier_opened_on_id", "opened_on", "id"),
        Index("ix_dossier_year_opened_on", "year", "opened_on"),
        # "My dossiers": an officer's own, newest first.
        Index("ix_dossier_lead_opened_on", "lead_officer_id", "opened_on", "id"),
        # The dashboard's reviews due: open dossiers by the review date of their current
        # assessment, read in order however many dossiers the history holds.
        Index(
            "ix_dossier_open_review_on",
            "review_on",
            "id",
            sqlite_where=text(OPEN_DOSSIER_SQL),
            postgresql_where=text(OPEN_DOSSIER_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Every UPDATE checks and bumps it: of two concurrent changes one wins, the other
    # fails instead of overwriting (SQLAlchemy's optimistic version counter).
    version: Mapped[int] = mapped_column(Integer)
    __mapper_args__ = {"version_id_col": version}
    # Byte order on PostgreSQL too, so that a prefix search is an index range.
    reference: Mapped[str] = mapped_column(
        String(20).with_variant(String(20, collation="C"), "postgresql"), unique=True
    )
    kind: Mapped[DossierKind] = mapped_column(enum_type(DossierKind))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    # Assigned only by workflow.py.
    state: Mapped[DossierState] = mapped_column(
        enum_type(DossierState), default=DossierState.INTAKE
    )
    opened_on: Mapped[dt.date] = mapped_column(Date)
    ground: Mapped[ThreatGround | None] = mapped_column(enum_type(ThreatGround))
    # The review date of the current (latest) assessment, kept by the listeners below
    # ThreatAssessment: the dashboard reads it by index.
    review_on: Mapped[dt.date | None] = mapped_column(Date)
    lead_officer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"), index=True)
    approval_date: Mapped[dt.date | None] = mapped_column(Date)
    approval_reference: Mapped[str | None] = mapped_column(String(80))
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    closure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    # A legal hold keeps the personal data whatever the retention rules (retention.py):
    # its reason, when and by whom it was placed; cleared when it is lifted.
    legal_hold_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    legal_hold_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    legal_hold_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # When its personal data was removed by a retention run; what the figures read stays.
    purged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    lead_officer: Mapped[User | None] = relationship(foreign_keys=[lead_officer_id])
    legal_hold_by: Mapped[User | None] = relationship(foreign_keys=[legal_hold_by_id])
    event: Mapped[Event | None] = relationship()
    persons: Mapped[list[Person]] = relationship(
        secondary="dossier_person",
        primaryjoin="Dossier.id == DossierPerson.dossier_id",
        secondaryjoin="Person.id == DossierPerson.person_id",
        order_by="Person.name",
        viewonly=True,
    )
    assessments: Mapped[list[ThreatAssessment]] = relationship(
        back_populates="dossier",
        order_by=lambda: current_first(),
    )
    measures: Mapped[list[Measure]] = relationship(back_populates="dossier", order_by="Measure.id")

    @property
    def is_vip(self) -> bool:
        return self.kind is DossierKind.VIP_PROTECTION

    @property
    def current_assessment(self) -> ThreatAssessment | None:
        return next((a for a in self.assessments if not a.withdrawn), None)


def person_index(table: str) -> Index:
    """The index of an assessment's or a measure's person, for a retention run asking
    whether a kept dossier still names a person. Of the rows for one person only: most
    are for the whole dossier (no person), and SQLite's statistics, counting those as one
    value shared by nearly every row, would make it read the whole table for each person
    it asks about."""
    return Index(
        f"ix_{table}_person_id",
        "person_id",
        sqlite_where=text("person_id IS NOT NULL"),
        postgresql_where=text("person_id IS NOT NULL"),
    )


class ThreatAssessment(Model):
    __tablename__ = "threat_assessment"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),
        # A dossier's assessments in the order that makes the latest the current one:
        # "the current level" anywhere is the first entry of a range, not a sort.
        Index("ix_threat_assessment_dossier_order", "dossier_id", "assessed_on", "id"),
        person_index("threat_assessment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)  # optimistic lock, as on Dossier
    __mapper_args__ = {"version_id_col": version}
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # indexed: person_index
    source: Mapped[AssessmentSource] = mapped_column(enum_type(AssessmentSource))
    level: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    review_on: Mapped[dt.date | None] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # A wrong entry is withdrawn with its reason, never deleted: it stays in the dossier,
    # shown as withdrawn, and is never the current assessment.
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    withdrawal_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    dossier: Mapped[Dossier] = relationship(back_populates="assessments")
    person: Mapped[Person | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None


def current_first() -> tuple:
    """A dossier's assessments, the current one first: the latest by date, then by entry.
    The index ix_threat_assessment_dossier_order reads them in this order."""
    return ThreatAssessment.assessed_on.desc(), ThreatAssessment.id.desc()


def latest_assessment(column: Any, dossier_id: Any, on: dt.date | None = None) -> Any:
    """`column` of the current assessment of the dossier `dossier_id` (a correlated
    column), or of the latest dated on or before `on`: a scalar subquery, read by index."""
    query = select(column).where(
        ThreatAssessment.dossier_id == dossier_id, ThreatAssessment.withdrawn_at.is_(None)
    )
    if on is not None:
        query = query.where(ThreatAssessment.assessed_on <= on)
    # Correlated to everything else: a query without the dossier in its FROM fails
    # instead of silently reading some other dossier's assessments.
    return (
        query.order_by(*current_first())
        .limit(1)
        .correlate_except(ThreatAssessment)
        .scalar_subquery()
    )


def refresh_review_dates(connection, dossier_id: int | None = None) -> None:
    """Set dossiers' review_on from their current assessment (one dossier, or all)."""
    refresh = update(Dossier).values(
        review_on=latest_assessment(ThreatAssessment.review_on, Dossier.id)
    )
    if dossier_id is not None:
        refresh = refresh.where(Dossier.id == dossier_id)
    connection.execute(refresh)


@sa_event.listens_for(ThreatAssessment, "after_insert")
@sa_event.listens_for(ThreatAssessment, "after_update")
@sa_event.listens_for(ThreatAssessment, "after_delete")
def _follow_current_assessment(_mapper, connection, assessment) -> None:
    refresh_review_dates(connection, assessment.dossier_id)


class MeasureType(Model):
    __tablename__ = "measure_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(120))  # in English
    label_nl: Mapped[str] = mapped_column(String(120), default="", server_default="")
    label_fr: Mapped[str] = mapped_column(String(120), default="", server_default="")
    # A retired type stays on the measures that have it and is no longer offered.
    active: Mapped[bool] = mapped_column(default=True)


class StandardMeasure(Model):
    """One line of a VIP category's standard set: a measure type and the partner that
    carries it out, proposed for every VIP of that category at an event."""

    __tablename__ = "standard_measure"
    __table_args__ = (UniqueConstraint("category", "measure_type_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[VipCategory] = mapped_column(enum_type(VipCategory))
    measure_type_id: Mapped[int] = mapped_column(ForeignKey("measure_type.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))

    measure_type: Mapped[MeasureType] = relationship()
    organisation: Mapped[Organisation] = relationship()


class Measure(Model):
    __tablename__ = "measure"
    __table_args__ = (
        # A partner's list: its measures of one status, newest first, read in order.
        Index("ix_measure_partner_list", "organisation_id", "status", "start_date", "id"),
        # The dashboard's decided measures still waiting for a partner, oldest first.
        Index("ix_measure_status_decided_at", "status", "decided_at"),
        # A partner's current measures (decided, any status but lifted), newest first: one
        # range read in order, where three status ranges had to be merged and sorted.
        Index(
            "ix_measure_partner_current",
            "organisation_id",
            "start_date",
            "id",
            sqlite_where=text(CURRENT_MEASURE_SQL),
            postgresql_where=text(CURRENT_MEASURE_SQL),
        ),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period"),
        person_index("measure"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)  # optimistic lock, as on Dossier
    __mapper_args__ = {"version_id_col": version}
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    measure_type_id: Mapped[int] = mapped_column(ForeignKey("measure_type.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # indexed: person_index
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[MeasureStatus] = mapped_column(
        enum_type(MeasureStatus), default=MeasureStatus.REQUESTED
    )
    execution_note: Mapped[str] = mapped_column(Text, default="")
    # Set when the crisis centre decides it; until then it is a draft that no
    # partner sees and no figure counts.
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Set with the status WITHDRAWN: a wrong entry taken back, and why.
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    withdrawal_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)

    dossier: Mapped[Dossier] = relationship(back_populates="measures")
    measure_type: Mapped[MeasureType] = relationship()
    organisation: Mapped[Organisation] = relationship()
    person: Mapped[Person | None] = relationship()

    @property
    def lifted(self) -> bool:
        return self.status is MeasureStatus.LIFTED

    @property
    def withdrawn(self) -> bool:
        return self.status is MeasureStatus.WITHDRAWN

    @property
    def ended(self) -> bool:
        """Lifted or withdrawn: no partner carries it out any more."""
        return self.status in ENDED_STATUSES


class DossierNote(Model):
    """An officer's internal note on a dossier: never shown to a partner, an analyst or
    an administrator; kept, never edited (a correction is a new note)."""

    __tablename__ = "dossier_note"
    __table_args__ = (Index("ix_dossier_note_dossier_at", "dossier_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    body: Mapped[str] = mapped_column(Text)

    author: Mapped[User] = relationship()


class Document(Model):
    """A file attached to a dossier (documents.py); its bytes are in DocumentContent."""

    __tablename__ = "document"
    __table_args__ = (Index("ix_document_dossier", "dossier_id", "uploaded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(120))  # judged from the content
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    # Set when an officer withdraws it (attached by mistake): its bytes and name are gone,
    # the line stays, with who, when and why.
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    withdrawal_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    dossier: Mapped[Dossier] = relationship()
    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])


class DocumentContent(Model):
    """A document's bytes, apart: listing a dossier's documents never reads them."""

    __tablename__ = "document_content"

    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # given up after NOTIFY_GIVE_UP_HOURS: an admin looks at it


class Notification(Model):
    """The outbox: a mail to send, written in the transaction of the change that causes
    it (notifications.py). What it says is rebuilt from `kind` and `reference` when it is
    sent: the row holds no personal data and no measure detail."""

    __tablename__ = "notification"
    __table_args__ = (
        # The sender's next mails: the pending ones due first.
        Index("ix_notification_due", "status", "next_attempt_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    address: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(5))
    reference: Mapped[str] = mapped_column(String(20), default="")
    link: Mapped[str] = mapped_column(String(200), default="")  # a path on this site
    status: Mapped[NotificationStatus] = mapped_column(
        enum_type(NotificationStatus), default=NotificationStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    # A mail that must exist once whoever makes it (a reminder, a day's digest): two
    # senders that both make it collide on this key, and one of them gives way.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    # What a digest lists (JSON: dossier references and counts, never a name).
    details: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The one-time token of an account link (invitation, password reset), encrypted,
    # and forgotten once the mail is sent or given up: the database keeps only its hash.
    secret: Mapped[str | None] = mapped_column(Sealed, deferred=True)


class AccountTokenPurpose(StrEnum):
    INVITATION = "invitation"  # set one's first password, then enrol the second factor
    PASSWORD_RESET = "password_reset"


class AccountToken(Model):
    """A single-use link sent by mail; only the sha256 of its token is kept."""

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    purpose: Mapped[AccountTokenPurpose] = mapped_column(enum_type(AccountTokenPurpose))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The address the link was mailed to: an account whose address changed since (a typo
    # corrected) no longer opens with it.
    sent_to: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class MeasureMessageKind(StrEnum):
    DECLINE = "decline"  # the service cannot carry it out, and says why
    QUESTION = "question"


class MeasureMessage(Model):
    """A partner's word to the crisis centre on one of its measures, open until an
    officer has dealt with it."""

    __tablename__ = "measure_message"
    __table_args__ = (
        # The dashboard's open messages, oldest first.
        Index("ix_measure_message_open", "handled_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"), index=True)
    kind: Mapped[MeasureMessageKind] = mapped_column(enum_type(MeasureMessageKind))
    reason: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    handled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    measure: Mapped[Measure] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    organisation: Mapped[Organisation] = relationship()
    handled_by: Mapped[User | None] = relationship(foreign_keys=[handled_by_id])


def is_open_message():
    """A partner's message no officer has dealt with yet."""
    return MeasureMessage.handled_at.is_(None)


def waits_for_an_officer():
    """A partner's message an officer still has to deal with: open, on a dossier still
    open (closing ended the dossier's measures; what was said stays in its timeline). The
    dashboard's list and count and the lead officer's digest; the query joins the
    message's measure and dossier."""
    from sqlalchemy import and_

    return and_(is_open_message(), is_open_dossier())


class Transition(Model):
    __tablename__ = "transition"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[DossierState] = mapped_column(enum_type(DossierState))
    to_state: Mapped[DossierState] = mapped_column(enum_type(DossierState))
    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc)
    reason: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User] = relationship()


# Audit actions that read personal data rather than change it. Sorted: the partial
# index below and the queries that use it must spell the list the same way, or SQLite
# does not see that the index covers the query. A change here needs a migration.
READ_ACTIONS = (
    "audit.access_report",
    "audit.export",
    "document.download",
    "dossier.print",
    "dossier.view",
    "event.view",
    "measure.view",
    "person.search",
    "statistics.drill",
    "statistics.export",
)


_READ_LIST = ", ".join(f"'{name}'" for name in READ_ACTIONS)
WRITES_SQL = f"outcome = 'ok' AND action NOT IN ({_READ_LIST})"


def is_dossier_write():
    """The events that changed a dossier: its history, without the (many) reads of it.

    The values are written into the SQL, not bound, so that both databases can match the
    condition to the partial index ix_audit_event_dossier_writes.
    """
    from sqlalchemy import and_, literal

    return and_(
        AuditEvent.outcome == literal("ok", literal_execute=True),
        AuditEvent.action.not_in([literal(name, literal_execute=True) for name in READ_ACTIONS]),
    )


class AuditEvent(Model):
    """One write, one read of personal data, or one refused attempt.

    Rows are only ever inserted (triggers refuse UPDATE and DELETE). Each carries a
    contiguous sequence number and an HMAC of its content and of the previous event's
    hash, so that an edited, removed or reordered row breaks the chain (audit.verify).
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_dossier_at", "dossier_id", "at"),
        # A dossier's history: read on every view of it, and must not slow down as
        # the views of that dossier (each one an event) pile up over the years.
        Index(
            "ix_audit_event_dossier_writes",
            "dossier_id",
            "at",
            "sequence",
            sqlite_where=text(WRITES_SQL),
            postgresql_where=text(WRITES_SQL),
        ),
        # The events on one object (a person's, an event's reads) for the access report;
        # led by the action, it also serves every query by action alone.
        Index("ix_audit_event_action_object", "action", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_utc, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()
    dossier: Mapped[Dossier | None] = relationship(viewonly=True)

    @property
    def detail_json(self) -> dict:
        return json.loads(self.detail or "{}")


class AuditHead(Model):
    """The newest link of the audit chain: one row, locked by every append, so that
    sequence numbers stay contiguous and a removed newest event is noticed."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    # The sequence of the newest event that changed data (not a read, a sign-in or a
    # refusal): what the yearly figures were computed from (report.remembered).
    data_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


APPEND_ONLY_POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""",
]
APPEND_ONLY_SQLITE = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
]
for _dialect, _statements in (
    ("postgresql", APPEND_ONLY_POSTGRESQL),
    ("sqlite", APPEND_ONLY_SQLITE),
):
    for _statement in _statements:
        sa_event.listen(
            AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect)
        )
