"""Build dossiers in a given state through the domain functions, as an officer would."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dossiers import casework, measures, workflow
from dossiers.clock import today
from dossiers.extensions import db
from dossiers.models import (
    AssessmentSource,
    Dossier,
    DossierKind,
    DossierState,
    Event,
    EventKind,
    Measure,
    MeasureType,
    Organisation,
    ThreatGround,
    User,
)


def officer() -> User:
    return db.session.scalars(select(User).where(User.email == "officer@test.example")).one()


def org(name_start: str) -> Organisation:
    return db.session.scalars(
        select(Organisation).where(Organisation.name.startswith(name_start))
    ).one()


def measure_type(code: str = "contact_point") -> MeasureType:
    return db.session.scalars(select(MeasureType).where(MeasureType.code == code)).one()


def new_dossier(
    kind: DossierKind = DossierKind.THREATENED_PERSON,
    opened_on: dt.date | None = None,
    title: str = "Mayor threatened",
) -> Dossier:
    dossier = casework.create_dossier(
        kind=kind,
        title=title,
        opened_on=opened_on or today(),
        actor=officer(),
        ground=ThreatGround.FUNCTION if kind is DossierKind.THREATENED_PERSON else None,
    )
    db.session.commit()
    return dossier


def with_person(dossier: Dossier, name: str = "Jan Peeters") -> Dossier:
    casework.add_new_person(dossier, name=name, function="Mayor", actor=officer())
    if dossier.is_vip:
        event = Event(
            name="European Council",
            kind=EventKind.EUROPEAN_SUMMIT,
            start_date=dossier.opened_on,
            end_date=dossier.opened_on,
            place="Brussels",
        )
        db.session.add(event)
        casework.set_event(dossier, event, officer())
    db.session.commit()
    return dossier


def assess(dossier: Dossier, on: dt.date, review_on: dt.date | None = None, level: int = 3):
    """An OCAM assessment of the dossier, recorded by the officer."""
    return casework.record_assessment(
        dossier,
        source=AssessmentSource.OCAM,
        level=level,
        assessed_on=on,
        review_on=review_on,
        summary="Threat letters",
        actor=officer(),
    )


def ready_to_decide(dossier: Dossier, partner: str = "Police zone") -> Measure:
    assess(dossier, dossier.opened_on)
    measure = measures.add_measure(
        dossier,
        measure_type=measure_type(),
        description="Fixed contact person",
        organisation=org(partner),
        start_date=dossier.opened_on,
        end_date=None,
        actor=officer(),
    )
    if dossier.is_vip:
        casework.record_approval(dossier, on=dossier.opened_on, reference="BiZa/1", actor=officer())
    db.session.commit()
    return measure


def dossier_in(state: DossierState, kind: DossierKind = DossierKind.THREATENED_PERSON) -> Dossier:
    """A dossier in the given state, whose guards for every next step are satisfied."""
    dossier = with_person(new_dossier(kind))
    if state is DossierState.INTAKE:
        return dossier
    workflow.transition(dossier, "start_assessment", officer())
    db.session.commit()
    ready_to_decide(dossier)
    if state is DossierState.ASSESSMENT:
        return dossier
    workflow.transition(dossier, "decide_measures", officer())
    db.session.commit()
    if state is DossierState.MEASURES_DECIDED:
        return dossier
    workflow.transition(dossier, "close", officer(), "Threat gone")
    db.session.commit()
    return dossier
