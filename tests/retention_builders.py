"""Dossiers with a history on their own days, for the retention tests: opened, decided
and closed when the test says, with every kind of free text a dossier can hold."""

from __future__ import annotations

import datetime as dt
import threading

import time_machine
from builders import measure_type, new_dossier, officer, org
from sqlalchemy import event, func, select

from dossiers import (
    casework,
    clock,
    corrections,
    documents,
    measures,
    partner_messages,
    retention,
    workflow,
)
from dossiers.extensions import db
from dossiers.models import (
    AssessmentSource,
    AuditEvent,
    Document,
    Dossier,
    DossierKind,
    DossierNote,
    Event,
    EventKind,
    MeasureMessageKind,
    MeasureStatus,
    Person,
    PersonNameSuffix,
    User,
)

TP, VIP = DossierKind.THREATENED_PERSON, DossierKind.VIP_PROTECTION


def noon(day: dt.date) -> dt.datetime:
    """Noon in Brussels on the day, as stored (UTC)."""
    return clock.start_of(day) + dt.timedelta(hours=12)


def travel(day: dt.date):
    """The whole process's clock at noon in Brussels on the day, standing still."""
    return time_machine.travel(noon(day).replace(tzinfo=dt.UTC), tick=False)


def run_on(day: dt.date):
    """A retention run on the day."""
    with travel(day):
        return retention.run(clock.today())


def partner() -> User:
    return db.session.scalars(select(User).where(User.email == "partner@test.example")).one()


def protected(
    opened: dt.date,
    closed: dt.date | None = None,
    *,
    name: str = "Jan Peeters",
    kind: DossierKind = TP,
    event_end: dt.date | None = None,
    persons: tuple[Person, ...] = (),
    everything: bool = False,
) -> Dossier:
    """A dossier opened, assessed and decided on `opened` (for a VIP, its event starting
    ten days later), closed on `closed` if given; with `everything`, it also holds every
    free text a dossier can: a family member, a note, a document, a partner's report and
    message, a withdrawn assessment and a withdrawn measure, each naming the person."""
    with clock.as_of(noon(opened)):
        dossier = new_dossier(kind, opened_on=opened, title=f"Threats against {name}")
        for known in persons:
            casework.link_person(dossier, known, officer())
        person = casework.add_new_person(
            dossier,
            name=name,
            function=f"Mayor, friend of {name}",
            country="Belgium" if kind is VIP else None,
            date_of_birth=dt.date(1971, 5, 4),
            actor=officer(),
        )
        if kind is VIP:
            start = opened + dt.timedelta(days=10)
            event = Event(
                name="European Council",
                kind=EventKind.EUROPEAN_SUMMIT,
                start_date=start,
                end_date=event_end or start + dt.timedelta(days=1),
                place="Brussels",
            )
            db.session.add(event)
            casework.set_event(dossier, event, officer())
        workflow.transition(dossier, "start_assessment", officer())
        casework.record_assessment(
            dossier,
            source=AssessmentSource.OCAM,
            level=3,
            assessed_on=opened,
            review_on=None,
            summary=f"{name} received threat letters",
            actor=officer(),
        )
        measure = measures.add_measure(
            dossier,
            measure_type=measure_type(),
            description=f"Contact point for {name}",
            organisation=org("Police zone"),
            start_date=opened,
            end_date=None,
            actor=officer(),
            person=person,
        )
        if kind is VIP:
            casework.record_approval(dossier, on=opened, reference="BiZa/1", actor=officer())
        workflow.transition(dossier, "decide_measures", officer())
        if everything:
            _every_free_text(dossier, person, measure, name)
        db.session.commit()
    if closed:
        with clock.as_of(noon(closed)):
            workflow.transition(dossier, "close", officer(), f"{name} moved abroad")
            db.session.commit()
    return dossier


def _every_free_text(dossier, person, measure, name) -> None:
    casework.add_new_person(
        dossier,
        name=f"Bartholomew {name.split()[-1]}",
        function="",
        family_of=person,
        relation=f"spouse of {name}",
        actor=officer(),
    )
    casework.add_note(dossier, f"{name} called the duty officer", officer())
    documents.attach(
        dossier,
        name=f"Letter to {name}.pdf",
        content=f"%PDF-1.4\n% A letter to {name}\n%%EOF\n".encode(),
        actor=officer(),
    )
    measures.report_on_measure(
        measure, MeasureStatus.ACKNOWLEDGED, f"Met {name} at home", partner()
    )
    partner_messages.send(measure, MeasureMessageKind.QUESTION, f"Is {name} abroad?", partner())
    wrong = casework.record_assessment(
        dossier,
        source=AssessmentSource.OTHER,
        level=1,
        assessed_on=dossier.opened_on,
        review_on=None,
        summary=f"{name}: entered by mistake",
        actor=officer(),
    )
    corrections.withdraw_assessment(wrong, f"Not about {name}", officer())
    extra = measures.add_measure(
        dossier,
        measure_type=measure_type("patrols"),
        description=f"Patrols at the house of {name}",
        organisation=org("Police zone"),
        start_date=dossier.opened_on,
        end_date=None,
        actor=officer(),
    )
    corrections.withdraw_measure(extra, f"{name} asked not to", officer())


def snapshot() -> tuple:
    """What a run could change, to compare before and after."""
    return (
        db.session.execute(
            select(
                Person.id,
                Person.name,
                Person.function,
                Person.date_of_birth,
                Person.country,
                Person.version,
            ).order_by(Person.id)
        ).all(),
        db.session.execute(
            select(
                Dossier.id,
                Dossier.title,
                Dossier.closure_reason,
                Dossier.version,
                Dossier.purged_at,
            ).order_by(Dossier.id)
        ).all(),
        db.session.scalar(select(func.count()).select_from(PersonNameSuffix)),
        db.session.scalar(select(func.count()).select_from(Document)),
        db.session.scalar(select(func.count()).where(DossierNote.body != "")),
    )


def audit_events() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


class Paused:
    """A retention run in a thread of its own, held just before it sends its first
    statement holding `marker`, until `go_on()` or `seconds` pass: what another
    transaction does meanwhile races the run's batch (which holds its locks)."""

    def __init__(self, app, day: dt.date, marker: str, seconds: float = 2.0) -> None:
        self.app, self.day, self.marker, self.seconds = app, day, marker, seconds
        self.reached, self.release = threading.Event(), threading.Event()
        self.outcome: object = None
        self.thread = threading.Thread(target=self._run)

    def __enter__(self) -> Paused:
        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._hold)
        self.thread.start()
        assert self.reached.wait(20), "the run never reached its statement"
        return self

    def go_on(self) -> None:
        self.release.set()

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.thread.join(30)
        event.remove(self.engine, "before_cursor_execute", self._hold)

    def _hold(self, conn, cursor, statement, parameters, context, many) -> None:
        if threading.current_thread() is not self.thread or self.reached.is_set():
            return
        if self.marker in statement:
            self.reached.set()
            self.release.wait(self.seconds)

    def _run(self) -> None:
        with self.app.app_context():
            try:
                self.outcome = retention.run(self.day)
            except Exception as error:  # the test reads it
                self.outcome = error
            finally:
                db.session.remove()
