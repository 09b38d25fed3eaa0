"""The map of personal data: where a dossier names a person, and what a retention run does
with every column that can hold a text, a date or a file.

Two registries, read by the code and by the tests alike:
- NAMINGS: each place a dossier names a person. A purge pseudonymises the persons its
  dossiers name (named_by), unless a dossier still kept shows them (needed); the access
  report lists the dossiers that name a person (dossiers_naming).
- EMPTIED, REPLACED, DELETED and KEPT: every String, Text, Date and binary column of the
  models is in exactly one of them (tests/test_retention_purged.py fails on a new
  column that is in none), so that a new free text cannot be forgotten by the purge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Select, and_, exists, func, or_, select, union

from .models import (
    AccountToken,
    AuditEvent,
    AuditHead,
    Document,
    DocumentContent,
    Dossier,
    DossierNote,
    DossierPerson,
    Event,
    LoginFailure,
    Measure,
    MeasureMessage,
    MeasureType,
    Notification,
    Organisation,
    Person,
    PersonNameSuffix,
    ThreatAssessment,
    Transition,
    User,
    UserSession,
)

# --- Where a dossier names a person. --------------------------------------------------

# The audit events whose object is a person: a dossier's history of its persons (each
# names its dossier), and the access reports made on the person (which name none).
PERSON_EVENTS = (
    "audit.access_report",
    "dossier.person_add",
    "dossier.person_remove",
    "person.create",
    "person.update",
)


@dataclass(frozen=True)
class Naming:
    """A person column beside a dossier column, on the rows `where` allows. `shown`: the
    dossier shows the person's name there while it is kept; else it is only its history
    (which shows no name)."""

    person: Any
    dossier: Any
    where: ColumnElement[bool] | None = None
    shown: bool = True
    # `where`, as asked by dossier: SQLite keeps no statistics and would read the audit
    # trail by action (every person event, at every batch of a run) rather than by the
    # dossier; a condition on lower(action) leaves it the dossier's index.
    where_by_dossier: ColumnElement[bool] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        return [] if self.where is None else [self.where]


# DossierPerson.family_of_id names a person of the same dossier only (casework
# check_person; cleared when that person leaves it): the dossier's persons cover it.
NAMINGS = (
    Naming(DossierPerson.person_id, DossierPerson.dossier_id),
    Naming(Measure.person_id, Measure.dossier_id),
    Naming(ThreatAssessment.person_id, ThreatAssessment.dossier_id),
    Naming(
        AuditEvent.object_id,
        AuditEvent.dossier_id,
        and_(AuditEvent.action.in_(PERSON_EVENTS), AuditEvent.object_type == "person"),
        shown=False,
        where_by_dossier=and_(
            func.lower(AuditEvent.action).in_(PERSON_EVENTS), AuditEvent.object_type == "person"
        ),
    ),
)


def named_by(dossier_ids: Any) -> CompoundSelect:
    """Everyone these dossiers (ids, or a select of them) name or once named: their
    persons, those their measures and assessments are for, those taken out of them."""
    return union(*(_by_dossier(n, n.dossier.in_(dossier_ids)) for n in NAMINGS))


def _by_dossier(naming: Naming, dossiers: ColumnElement[bool]) -> Select:
    if naming.where_by_dossier is not None:
        return select(naming.person).where(dossiers, naming.where_by_dossier)
    return select(naming.person).where(dossiers, *naming.conditions())


def dossiers_naming(person_id: int) -> CompoundSelect:
    """Every dossier that names the person, or once did (named_by, the other way)."""
    return union(
        *(
            select(n.dossier).where(n.person == person_id, n.dossier.is_not(None), *n.conditions())
            for n in NAMINGS
        )
    )


def _named_in(dossiers: ColumnElement[bool], namings: tuple[Naming, ...]) -> ColumnElement[bool]:
    """The person (a correlated Person.id) is named by a dossier `dossiers` allows."""
    return or_(
        *(
            exists().where(
                n.person == Person.id, Dossier.id == n.dossier, dossiers, *n.conditions()
            )
            for n in namings
        )
    )


def needed() -> ColumnElement[bool]:
    """A dossier not purged shows the person: one of its persons, or the person one of
    its measures or assessments is for. Its history alone does not keep a name."""
    return _named_in(Dossier.purged_at.is_(None), tuple(n for n in NAMINGS if n.shown))


def named_by_purged() -> ColumnElement[bool]:
    """A purged dossier names the person, or once did. Read as one set (a hashed
    subquery on PostgreSQL), not a test per person: the sweep asks it of every person."""
    return Person.id.in_(named_by(select(Dossier.id).where(Dossier.purged_at.is_not(None))))


# --- What a purge does with each column. ---------------------------------------------


@dataclass(frozen=True)
class Emptied:
    """The columns a purge empties in one table, on the rows of the purged dossiers: the
    free texts (to "", each one counted) and the other details (to NULL)."""

    model: Any
    of_dossiers: Callable[[list[int]], ColumnElement[bool]]
    texts: tuple[Any, ...] = ()
    details: tuple[Any, ...] = ()


EMPTIED = (
    Emptied(
        Dossier,
        lambda ids: Dossier.id.in_(ids),
        texts=(Dossier.closure_reason, Dossier.legal_hold_reason),
    ),
    Emptied(
        ThreatAssessment,
        lambda ids: ThreatAssessment.dossier_id.in_(ids),
        texts=(ThreatAssessment.summary, ThreatAssessment.withdrawal_reason),
    ),
    Emptied(
        Measure,
        lambda ids: Measure.dossier_id.in_(ids),
        texts=(Measure.description, Measure.execution_note, Measure.withdrawal_reason),
    ),
    Emptied(
        MeasureMessage,
        lambda ids: MeasureMessage.measure_id.in_(
            select(Measure.id).where(Measure.dossier_id.in_(ids))
        ),
        texts=(MeasureMessage.reason,),
    ),
    Emptied(Transition, lambda ids: Transition.dossier_id.in_(ids), texts=(Transition.reason,)),
    Emptied(DossierNote, lambda ids: DossierNote.dossier_id.in_(ids), texts=(DossierNote.body,)),
    Emptied(
        DossierPerson,
        lambda ids: DossierPerson.dossier_id.in_(ids),
        texts=(DossierPerson.relation,),
        # Whose family, and a VIP's own days at the event: no figure reads them.
        details=(
            DossierPerson.family_of_id,
            DossierPerson.arrival_date,
            DossierPerson.departure_date,
        ),
    ),
)

# Replaced rather than emptied: the title by the reference; a person no kept dossier
# needs by the pseudonym, the rest of them cleared (purge._pseudonymise).
REPLACED = {
    Dossier.title: "the dossier's reference",
    Person.name: "the pseudonym",
    Person.function: "empty",
    Person.date_of_birth: "NULL",
    Person.country: "NULL",
}

# Rows deleted whole: a purged dossier's documents and their bytes; a pseudonymised
# person's entries in the name-search index.
DELETED = (Document, DocumentContent, PersonNameSuffix)

FIGURES = "the figures read it"
ACCOUNTS = "the staff's accounts and their sign-in: the audit trail's actors, not a dossier's"
OUTBOX = "the outbox: rebuilt from its kind and reference when sent, it names no person"
TRAIL = "the audit trail, append-only and chained: accounts, actions and ids, no person named"

KEPT = {
    Organisation.name: "a partner service, not a person; " + FIGURES,
    Organisation.mailbox: "a service's functional mailbox",
    Organisation.language: "the language of a service's mails",
    User.email: ACCOUNTS,
    User.full_name: ACCOUNTS,
    User.password_hash: ACCOUNTS,
    User.totp_secret: ACCOUNTS,
    User.recovery_codes: ACCOUNTS,
    User.enrolment_code_hash: ACCOUNTS,
    User.language: ACCOUNTS,
    UserSession.token_hash: ACCOUNTS,
    LoginFailure.email_hash: ACCOUNTS + " (a keyed hash, kept a few minutes)",
    LoginFailure.remote_addr: ACCOUNTS + " (kept a few minutes)",
    LoginFailure.step: ACCOUNTS,
    AccountToken.token_hash: ACCOUNTS,
    AccountToken.sent_to: ACCOUNTS,
    Event.name: (
        "an event is no dossier's (every delegation and year shares it), the drill-downs "
        "list events by name, and the events counted are public (summits, state visits)"
    ),
    Event.place: "as the event's name",
    Event.host: "as the event's name",
    Event.start_date: FIGURES,
    Event.end_date: FIGURES + "; a VIP dossier's retention counts from it",
    Dossier.reference: "names nobody; " + FIGURES + " and the audit trail refers to it",
    Dossier.opened_on: FIGURES,
    Dossier.closed_on: FIGURES + "; the retention counts from it",
    Dossier.review_on: "a date of the current assessment, kept with it",
    Dossier.approval_date: FIGURES,
    Dossier.approval_reference: (
        "the file number of the Minister's decision: an administrative reference, which "
        "says which decision covered the protection"
    ),
    ThreatAssessment.assessed_on: FIGURES,
    ThreatAssessment.review_on: "a date beside the level, " + FIGURES,
    Measure.start_date: FIGURES,
    Measure.end_date: FIGURES,
    MeasureType.code: "the reference list of measure types",
    MeasureType.label: "the reference list of measure types",
    MeasureType.label_nl: "the reference list of measure types",
    MeasureType.label_fr: "the reference list of measure types",
    Transition.name: "a step of the workflow (a code); " + FIGURES,
    Notification.kind: OUTBOX,
    Notification.address: OUTBOX + " (a service's mailbox or a staff member's address)",
    Notification.language: OUTBOX,
    Notification.reference: OUTBOX,
    Notification.link: OUTBOX,
    Notification.last_error: OUTBOX + " (the mail server's answer)",
    Notification.dedupe_key: OUTBOX,
    Notification.details: OUTBOX + " (a digest's references and counts)",
    Notification.secret: OUTBOX + " (an account link's token, forgotten once sent)",
    AuditEvent.action: TRAIL,
    AuditEvent.object_type: TRAIL,
    AuditEvent.remote_addr: TRAIL + " (the staff's addresses)",
    AuditEvent.outcome: TRAIL,
    AuditEvent.detail: TRAIL + " (codes, ids and counts; a free text only as 'changed')",
    AuditEvent.prev_hash: TRAIL,
    AuditEvent.hash: TRAIL,
    AuditHead.last_hash: TRAIL,
}


def removed() -> set[str]:
    """Every column a purge empties, replaces or deletes, as "table.column"."""
    columns = {column_name(c) for c in REPLACED}
    for entry in EMPTIED:
        columns.update(column_name(c) for c in (*entry.texts, *entry.details))
    for model in DELETED:
        columns.update(f"{model.__tablename__}.{c.name}" for c in model.__table__.columns)
    return columns


def kept() -> dict[str, str]:
    """Every column a purge keeps, as "table.column", with why."""
    return {column_name(c): why for c, why in KEPT.items()}


def column_name(attribute: Any) -> str:
    """A mapped column as "table.column"."""
    column = attribute.property.columns[0]
    return f"{column.table.name}.{column.name}"
