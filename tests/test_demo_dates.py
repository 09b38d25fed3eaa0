"""The demo data set records its history on the days it happened, audit trail included:
a demo dossier's timeline reads as its history, not as the day of seeding."""

import json
from collections import defaultdict

import pytest
from sqlalchemy import select

from dossiers import audit
from dossiers.clock import date_of
from dossiers.extensions import db
from dossiers.models import AuditEvent, Dossier, DossierState, ThreatAssessment, Transition


@pytest.fixture
def seeded(demo_app):
    """The audit events the seeding wrote (later tests add their own), oldest first."""
    with demo_app.app_context():
        yield db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.sequence <= demo_app.config["SEEDED_EVENTS"])
            .order_by(AuditEvent.sequence)
        ).all()


def test_a_demo_dossier_is_opened_on_its_opening_day(seeded):
    opened = dict(db.session.execute(select(Dossier.id, Dossier.opened_on)).all())
    created = [e for e in seeded if e.action == "dossier.create"]
    assert len(created) > 200
    for event in created:
        assert date_of(event.at) == opened[event.dossier_id], event.sequence
    for dossier in db.session.scalars(select(Dossier).where(Dossier.id.in_(opened))):
        assert date_of(dossier.created_at) == dossier.opened_on


def test_assessments_and_transitions_are_recorded_on_their_own_days(seeded):
    assessed = dict(
        db.session.execute(select(ThreatAssessment.id, ThreatAssessment.assessed_on)).all()
    )
    moved = dict(db.session.execute(select(Transition.id, Transition.at)).all())
    for event in seeded:
        if event.action == "assessment.create":
            assert date_of(event.at) == assessed[event.object_id]
        elif event.action == "dossier.transition":
            assert event.at == moved[json.loads(event.detail)["transition_id"]]


def test_no_demo_event_is_dated_after_the_seeding(demo_app, seeded):
    seeded_at = demo_app.config["SEEDED_AT"]
    assert max(e.at for e in seeded) <= seeded_at
    # A dossier's history, the summit in preparation's included, is before that day.
    assert all(date_of(e.at) < date_of(seeded_at) for e in seeded if e.dossier_id)


def test_a_timeline_starts_with_the_opening_and_ends_with_the_latest_step(seeded):
    by_dossier = defaultdict(list)
    for event in seeded:
        if event.dossier_id:
            by_dossier[event.dossier_id].append(event)
    for events in by_dossier.values():
        oldest = min(events, key=lambda e: (e.at, e.sequence))
        assert oldest.action == "dossier.create", oldest.dossier_id
    closed = db.session.scalars(
        select(Dossier).where(Dossier.state == DossierState.CLOSED).order_by(Dossier.id)
    ).first()
    timeline = audit.dossier_history(closed)
    assert timeline[-1].action == "dossier.create"
    assert date_of(timeline[0].at) == closed.closed_on
    assert [entry.at for entry in timeline] == sorted((e.at for e in timeline), reverse=True)


def test_the_audit_chain_of_the_demo_is_intact(demo_app):
    with demo_app.app_context():
        assert audit.verify().intact
