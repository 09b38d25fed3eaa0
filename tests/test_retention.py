"""Retention: a closed dossier's personal data goes when its time is up, unless a legal
hold keeps it; what the figures read stays, and a person a kept dossier needs is kept."""

import datetime as dt
import re

import pytest
from builders import new_dossier, officer
from retention_builders import (
    VIP,
    Paused,
    audit_events,
    noon,
    protected,
    run_on,
    snapshot,
    travel,
)
from sqlalchemy import select

from dossiers import audit, casework, clock, figures, names, purge, retention, workflow
from dossiers.extensions import db
from dossiers.models import (
    AuditEvent,
    Document,
    DocumentContent,
    Dossier,
    DossierNote,
    DossierPerson,
    Measure,
    MeasureMessage,
    Person,
    PersonNameSuffix,
    ThreatAssessment,
    Transition,
)
from dossiers.refusals import Refused

NAME = "Wilhelmina Quetzalcoatl"


def is_due_in_sql(dossier: Dossier, day: dt.date) -> bool:
    found = select(Dossier.id).where(Dossier.id == dossier.id, retention.is_due(day))
    return db.session.scalar(found) is not None


def test_the_due_date_follows_the_kind_and_its_sql_twin_agrees_on_both_sides(app):
    with app.app_context():
        tp = protected(dt.date(2023, 1, 10), closed=dt.date(2024, 3, 15))
        # A VIP dossier closed before its event ended counts from the event's end...
        vip_event = protected(
            dt.date(2024, 1, 5),
            closed=dt.date(2024, 1, 20),
            kind=VIP,
            event_end=dt.date(2024, 2, 2),
        )
        # ...and one closed after it from its closing date.
        vip_closed = protected(dt.date(2024, 1, 5), closed=dt.date(2024, 6, 1), kind=VIP)
        with clock.as_of(noon(dt.date(2024, 5, 6))):
            no_event = new_dossier(VIP, opened_on=dt.date(2024, 5, 6))
            workflow.transition(no_event, "close_without_measures", officer(), "Visit cancelled")
            db.session.commit()
        expected = {
            tp: dt.date(2034, 3, 15),
            vip_event: dt.date(2026, 2, 2),
            vip_closed: dt.date(2026, 6, 1),
            no_event: dt.date(2026, 5, 6),
        }
        for dossier, due in expected.items():
            assert retention.due_on(dossier) == due
            assert not is_due_in_sql(dossier, due - dt.timedelta(days=1))
            assert is_due_in_sql(dossier, due)

        app.config["RETENTION_TP_YEARS"] = 3
        assert retention.due_on(tp) == dt.date(2027, 3, 15)
        assert is_due_in_sql(tp, dt.date(2027, 3, 15))
        assert not is_due_in_sql(tp, dt.date(2027, 3, 14))


def test_an_open_dossier_is_never_due(app):
    with app.app_context():
        dossier = protected(dt.date(2012, 1, 10))
        assert retention.due_on(dossier) is None
        assert not is_due_in_sql(dossier, dt.date(2100, 1, 1))
        assert run_on(dt.date(2100, 1, 1)) == purge.Counts()
        assert dossier.persons[0].name == "Jan Peeters"


def test_the_sql_cutoff_agrees_with_the_due_date_around_29_february():
    starts = [dt.date(2024, 2, 26) + dt.timedelta(days=n) for n in range(6)]
    for years in (1, 2, 4, 10):
        for start in starts:
            due = retention.add_years(start, years)
            for on in (due - dt.timedelta(days=2) + dt.timedelta(days=n) for n in range(5)):
                assert (due <= on) == (start <= retention.latest_start(on, years)), (start, on)


def test_a_run_removes_every_free_text_document_and_name_and_keeps_what_the_figures_read(app):
    with app.app_context():
        dossier = protected(
            dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME, everything=True
        )
        counted = figure_columns(dossier.id)
        person_ids = [p.id for p in dossier.persons]
        assert set(names.persons_named("Quetzal", 10)) == set(person_ids)

        done = run_on(dt.date(2034, 3, 15))

        # The title, the closing reason; two summaries and a withdrawal reason; two
        # descriptions, an execution note and a withdrawal reason; a partner's message;
        # the closing transition's reason; a note; a relation.
        assert done == purge.Counts(dossiers=1, persons=2, documents=1, texts=13)
        db.session.expire_all()
        dossier = db.session.get(Dossier, dossier.id)
        assert dossier.title == dossier.reference and dossier.closure_reason == ""
        assert dossier.purged_at == noon(dt.date(2034, 3, 15))
        for person in dossier.persons:
            assert person.name == f"Person {person.id}"
            assert (person.function, person.date_of_birth, person.country) == ("", None, None)
        assert names.persons_named("Quetzal", 10) == []
        assert not db.session.scalars(
            select(PersonNameSuffix).where(PersonNameSuffix.person_id.in_(person_ids))
        ).all()
        assert texts_of(dossier.id) == {""}
        assert not db.session.scalars(select(Document)).all()
        assert not db.session.scalars(select(DocumentContent)).all()
        assert figure_columns(dossier.id) == counted


def test_nothing_goes_the_day_before_it_is_due(app):
    with app.app_context():
        dossier = protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME)
        before = snapshot()
        assert run_on(dt.date(2034, 3, 14)) == purge.Counts()
        assert snapshot() == before
        assert dossier.persons[0].name == NAME


def test_a_legal_hold_keeps_the_data_and_lifting_it_makes_it_due_again(app):
    with app.app_context():
        dossier = protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME)
        with pytest.raises(Refused) as empty:
            retention.place_hold(dossier, "  ", officer())
        assert empty.value.field == "reason"
        retention.place_hold(dossier, "Court case 2024/118", officer())
        db.session.commit()

        with travel(dt.date(2040, 1, 1)):
            listed = "\n".join(retention.listing(clock.today()))
        assert "threatened-person dossiers: 0" in listed
        assert f"Kept under legal hold:\n  {dossier.reference}" in listed
        assert run_on(dt.date(2040, 1, 1)) == purge.Counts()
        assert dossier.persons[0].name == NAME

        retention.lift_hold(dossier, "The court case is closed", officer())
        db.session.commit()
        assert run_on(dt.date(2040, 1, 1)).dossiers == 1
        db.session.expire_all()
        assert dossier.persons[0].name != NAME
        with pytest.raises(Refused):
            retention.place_hold(dossier, "Too late", officer())


def test_a_purged_dossier_cannot_be_reopened(app):
    with app.app_context():
        dossier = protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15))
        assert workflow.missing(dossier, workflow.TRANSITIONS["reopen"]) == []
        run_on(dt.date(2034, 3, 15))
        db.session.expire_all()
        with pytest.raises(Refused, match="open a new dossier"):
            workflow.transition(dossier, "reopen", officer(), "The threat is back")


def test_a_person_a_kept_dossier_needs_is_kept_until_that_one_goes_too(app):
    with app.app_context():
        early = protected(dt.date(2019, 3, 1), name=NAME)
        shared = early.persons[0]
        with clock.as_of(noon(dt.date(2019, 4, 1))):
            # Taken out of the early dossier: only that dossier ever named this person.
            left = casework.add_new_person(
                early, name="Ludovic Left", function="Judge", actor=officer()
            )
            casework.remove_person(early, left, officer())
            db.session.commit()
        with clock.as_of(noon(dt.date(2020, 6, 1))):
            workflow.transition(early, "close", officer(), "The threat is gone")
            db.session.commit()
        later = protected(
            dt.date(2024, 2, 1), closed=dt.date(2025, 1, 10), name="Marie Dubois", persons=(shared,)
        )
        tp_persons = {y: figures.headline_values(y)["tp_persons"] for y in (2019, 2024)}

        # Its title, closing reason, summary, measure description and closing transition.
        assert run_on(dt.date(2031, 1, 1)) == purge.Counts(dossiers=1, persons=1, texts=5)
        db.session.expire_all()
        assert shared.name == NAME and shared.function != ""
        assert left.name == f"Person {left.id}"
        assert later.purged_at is None

        assert run_on(dt.date(2036, 1, 1)).persons == 2  # the shared person and Marie Dubois
        db.session.expire_all()
        assert shared.name == f"Person {shared.id}"
        # Still one person in both years' dossiers, counted in each.
        assert {y: figures.headline_values(y)["tp_persons"] for y in (2019, 2024)} == tp_persons


def test_the_run_is_audited_once_with_counts_only_and_the_chain_verifies(app):
    with app.app_context():
        protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME, everything=True)
        run_on(dt.date(2034, 3, 15))
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.sequence.desc())).first()
        assert event.action == "retention.run" and event.actor_id is None
        # No reference, no name: counts only.
        assert (event.dossier_id, event.object_id) == (None, None)
        assert event.detail_json == {"dossiers": 1, "persons": 2, "documents": 1, "texts": 13}
        assert audit.verify().intact


def test_the_command_lists_then_removes_and_a_second_run_changes_nothing(app):
    with app.app_context():
        dossier = protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME)
        reference = dossier.reference
    runner = app.test_cli_runner()
    with travel(dt.date(2034, 3, 15)):
        with app.app_context():
            before, events = snapshot(), audit_events()
        dry = runner.invoke(args=["retention", "run", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "threatened-person dossiers: 1" in dry.output and reference in dry.output
        assert "Dry run: nothing was changed." in dry.output
        with app.app_context():
            assert (snapshot(), audit_events()) == (before, events)

        first = runner.invoke(args=["retention", "run"])
        assert first.exit_code == 0, first.output
        assert "dossiers purged: 1; persons pseudonymised: 1;" in first.output
        with app.app_context():
            after = snapshot()
            assert after != before
        second = runner.invoke(args=["retention", "run"])
        assert second.exit_code == 0, second.output
        assert "Nothing was due; nothing changed" in second.output
        assert reference not in second.output
        with app.app_context():
            assert snapshot() == after
            last = db.session.scalars(
                select(AuditEvent).order_by(AuditEvent.sequence.desc())
            ).first()
            assert last.detail_json == {"dossiers": 0, "persons": 0, "documents": 0, "texts": 0}


def test_the_hold_form_refuses_an_empty_reason_next_to_the_field(app, login):
    with app.app_context():
        dossier = protected(dt.date(2023, 2, 1), closed=dt.date(2025, 5, 2), name=NAME)
        reference, version = dossier.reference, dossier.version
    officer_ = login("officer")
    url = f"/dossiers/{reference}/legal-hold"

    # Spaces, or marks that show nothing (zero-width space, word joiner, joiner): no reason.
    for blank in ("  ", "\u200b\u200b", "\u2060\n\u200d"):
        refused = officer_.post(url, data={"reason": blank, "version": version})
        assert refused.status_code == 200
        assert re.search(
            r'<textarea[^>]*aria-describedby="reason-error"[^>]*aria-invalid="true"', refused.text
        )
        assert re.search(r'id="reason-error">Give the reason for the legal hold\.<', refused.text)
        with app.app_context():
            assert db.session.get(Dossier, dossier.id).legal_hold_at is None

    placed = officer_.post(url, data={"reason": "Court case 2024/118", "version": version})
    assert placed.status_code == 302
    page = officer_.get(f"/dossiers/{reference}").text
    assert "Under legal hold" in page and "Court case 2024/118" in page
    assert f"placed on {clock.moment(clock.now_utc())[:10]}" in page and "by Officer" in page
    assert "the legal hold keeps it" in page

    with app.app_context():
        held = db.session.get(Dossier, dossier.id)
        version = held.version
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "dossier.legal_hold")
        ).one()
        note = db.session.get(DossierNote, event.detail_json["note_id"])
        assert note.body == "Court case 2024/118" and "Court" not in event.detail
    lift = f"{url}/lift"
    refused = officer_.post(lift, data={"reason": "", "version": version})
    assert re.search(
        r'id="reason-error">Give the reason for lifting the legal hold\.<', refused.text
    )
    lifted = officer_.post(lift, data={"reason": "Case closed", "version": version})
    assert lifted.status_code == 302
    page = officer_.get(f"/dossiers/{reference}").text
    assert "Under legal hold" not in page and "Place a legal hold" in page
    assert "Legal hold lifted" in page and "Case closed" in page  # the timeline, with its words
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "dossier.legal_hold_lifted")
        ).one()
        assert set(event.detail_json) == {"note_id"}


def test_the_dossier_page_says_when_its_personal_data_goes(app, login):
    with app.app_context():
        open_one = protected(dt.date(2023, 2, 1)).reference
        held = protected(dt.date(2023, 2, 1), closed=dt.date(2025, 5, 2))
        gone = protected(dt.date(2023, 2, 1), closed=dt.date(2025, 5, 2), name=NAME)
        closed, gone_reference = held.reference, gone.reference
        retention.place_hold(held, "Court case", officer())
        db.session.commit()
        app.config["RETENTION_TP_YEARS"] = 1
        assert run_on(dt.date(2026, 5, 4)).dossiers == 1
    officer_ = login("officer")
    assert (
        "personal data is kept while the dossier is open"
        in officer_.get(f"/dossiers/{open_one}").text
    )
    app.config["RETENTION_TP_YEARS"] = 10
    page = officer_.get(f"/dossiers/{closed}").text
    assert "would remove its personal data on 02/05/2035; the legal hold keeps it" in page
    page = officer_.get(f"/dossiers/{gone_reference}").text
    assert "Its personal data was removed on 04/05/2026" in page
    assert NAME not in page and "Place a legal hold" not in page


def figure_columns(dossier_id: int) -> tuple:
    """Everything the figures read about a dossier."""
    return (
        db.session.execute(
            select(
                Dossier.reference,
                Dossier.kind,
                Dossier.opened_on,
                Dossier.closed_on,
                Dossier.state,
                Dossier.ground,
                Dossier.event_id,
            ).where(Dossier.id == dossier_id)
        ).one(),
        db.session.execute(
            select(DossierPerson.person_id, Person.category)
            .join(Person, Person.id == DossierPerson.person_id)
            .where(DossierPerson.dossier_id == dossier_id)
            .order_by(DossierPerson.person_id)
        ).all(),
        db.session.execute(
            select(
                Measure.measure_type_id,
                Measure.organisation_id,
                Measure.person_id,
                Measure.start_date,
                Measure.end_date,
                Measure.status,
                Measure.decided_at,
            )
            .where(Measure.dossier_id == dossier_id)
            .order_by(Measure.id)
        ).all(),
        db.session.execute(
            select(
                ThreatAssessment.level,
                ThreatAssessment.assessed_on,
                ThreatAssessment.withdrawn_at,
                ThreatAssessment.person_id,
            )
            .where(ThreatAssessment.dossier_id == dossier_id)
            .order_by(ThreatAssessment.id)
        ).all(),
        db.session.execute(
            select(Transition.to_state, Transition.at)
            .where(Transition.dossier_id == dossier_id)
            .order_by(Transition.id)
        ).all(),
    )


def texts_of(dossier_id: int) -> set[str]:
    """Every free text the dossier holds."""
    measure_ids = select(Measure.id).where(Measure.dossier_id == dossier_id)
    columns = [
        (ThreatAssessment.summary, ThreatAssessment.dossier_id == dossier_id),
        (ThreatAssessment.withdrawal_reason, ThreatAssessment.dossier_id == dossier_id),
        (Measure.description, Measure.dossier_id == dossier_id),
        (Measure.execution_note, Measure.dossier_id == dossier_id),
        (Measure.withdrawal_reason, Measure.dossier_id == dossier_id),
        (MeasureMessage.reason, MeasureMessage.measure_id.in_(measure_ids)),
        (Transition.reason, Transition.dossier_id == dossier_id),
        (DossierNote.body, DossierNote.dossier_id == dossier_id),
        (DossierPerson.relation, DossierPerson.dossier_id == dossier_id),
    ]
    found: set[str] = set()
    for column, where in columns:
        found |= set(db.session.scalars(select(column).where(where)))
    return found


# --- Races with a run (PostgreSQL: scripts/with-postgres; SQLite writes one at a time). --

DUE = dt.date(2034, 3, 15)
PSEUDONYMISING = "DELETE FROM person_name_suffix"  # the batch, its decisions taken


def is_sqlite(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "sqlite"


def attempt(work) -> str:
    """Do the work and commit: "done", or "refused" with the rollback."""
    try:
        work()
        db.session.commit()
    except Refused:
        db.session.rollback()
        return "refused"
    return "done"


def test_linking_a_person_a_run_is_pseudonymising_waits_and_is_refused(app):
    with app.app_context():
        person_id = protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME)
        person_id = person_id.persons[0].id
        open_id = protected(dt.date(2025, 1, 6)).id
    with Paused(app, DUE, PSEUDONYMISING) as run, app.app_context():
        dossier, person = db.session.get(Dossier, open_id), db.session.get(Person, person_id)
        linked = attempt(lambda: casework.link_person(dossier, person, officer()))
        run.go_on()
    assert run.outcome == purge.Counts(dossiers=1, persons=1, texts=5)
    with app.app_context():
        person = db.session.get(Person, person_id)
        # Without the lock the link went in under the run's decision: "Person N" in an
        # open dossier. With it, the link waited for the run, then saw the pseudonym.
        assert (linked, person.name) == ("refused", purge.pseudonym(person_id))
        assert person not in db.session.get(Dossier, open_id).persons
        with pytest.raises(Refused, match="add them as a new person"):
            casework.link_person(db.session.get(Dossier, open_id), person, officer())


def test_a_note_added_while_a_batch_purges_its_dossier_waits_and_is_refused(app):
    with app.app_context():
        dossier_id = protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME).id
    with Paused(app, DUE, PSEUDONYMISING) as run, app.app_context():
        dossier = db.session.get(Dossier, dossier_id)  # read before the batch commits
        added = attempt(lambda: casework.add_note(dossier, f"{NAME} called", officer()))
        run.go_on()
    assert run.outcome == purge.Counts(dossiers=1, persons=1, texts=5)
    with app.app_context():
        assert added == "refused"
        assert texts_of(dossier_id) == {""}


def test_a_second_run_while_one_is_going_does_nothing_and_says_so(app):
    if is_sqlite(app):
        pytest.skip("SQLite writes one batch at a time, each deciding alone: no run lock")
    with app.app_context():
        protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME)
        later = protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 16), name="Marie Dubois").id
        events = audit_events()
    runner = app.test_cli_runner()
    with Paused(app, DUE, PSEUDONYMISING, seconds=20) as run:  # held until go_on()
        with app.app_context():
            with pytest.raises(retention.AnotherRun):
                retention.run(dt.date(2034, 3, 16))
        with travel(dt.date(2034, 3, 16)):
            second = runner.invoke(args=["retention", "run"])
        run.go_on()
    assert second.exit_code == 75, second.output
    assert "Another retention run is going: this one changed nothing." in second.output
    assert run.outcome == purge.Counts(dossiers=1, persons=1, texts=5)
    with app.app_context():
        assert db.session.get(Dossier, later).purged_at is None
        assert audit_events() == events + 1  # the first run's batch, nothing of the others
        assert run_on(dt.date(2034, 3, 16)).dossiers == 1  # the lock was given back


# --- The closing sweep. -----------------------------------------------------------------


def test_a_person_a_kept_dossier_needed_is_swept_once_taken_out_of_it(app):
    with app.app_context():
        gone = protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME)
        shared = gone.persons[0]
        kept = protected(dt.date(2025, 1, 6), persons=(shared,))
        assert run_on(DUE).persons == 0  # the open dossier shows them
        db.session.expire_all()
        assert shared.name == NAME
        casework.remove_person(kept, shared, officer())
        db.session.commit()

        # Nothing is due; the sweep finds the person nothing needs any more.
        assert run_on(DUE) == purge.Counts(persons=1)
        db.session.expire_all()
        assert shared.name == purge.pseudonym(shared.id) and shared.pseudonymised_at
        assert names.persons_named("Quetzal", 10) == []
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.sequence.desc())).first()
        assert event.detail_json == {"dossiers": 0, "persons": 1, "documents": 0, "texts": 0}
        assert run_on(DUE) == purge.Counts()  # and only once


def test_the_sweep_heals_a_person_two_purged_dossiers_left_named(app):
    """What two runs racing without the run lock left: both dossiers purged, each run
    having seen the other's dossier as kept."""
    with app.app_context():
        first = protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME)
        shared = first.persons[0]
        second = protected(dt.date(2023, 3, 1), closed=dt.date(2024, 3, 15), persons=(shared,))
        for dossier in (first, second):
            dossier.purged_at = clock.now_utc()
        db.session.commit()

        assert run_on(DUE).persons == 2  # the shared person and Jan Peeters
        db.session.expire_all()
        assert shared.name == purge.pseudonym(shared.id)


def test_linking_a_person_the_sweep_is_pseudonymising_waits_and_is_refused(app):
    with app.app_context():
        gone = protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME)
        shared = gone.persons[0]
        kept = protected(dt.date(2025, 1, 6), persons=(shared,))
        other_id, person_id = protected(dt.date(2025, 1, 6), name="Marie Dubois").id, shared.id
        assert run_on(DUE).persons == 0
        casework.remove_person(kept, shared, officer())
        db.session.commit()
    # Nothing is due: the sweep alone decides, in a transaction that wrote nothing yet.
    with Paused(app, DUE, PSEUDONYMISING) as run, app.app_context():
        dossier, person = db.session.get(Dossier, other_id), db.session.get(Person, person_id)
        linked = attempt(lambda: casework.link_person(dossier, person, officer()))
        run.go_on()
    assert run.outcome == purge.Counts(persons=1)
    with app.app_context():
        person = db.session.get(Person, person_id)
        assert (linked, person.name) == ("refused", purge.pseudonym(person_id))


def test_a_person_taken_out_of_an_open_dossier_is_kept_until_that_dossier_goes(app):
    """Not swept while their dossier is open: its history names them, and a person no
    purged dossier ever named has no retention period running yet."""
    with app.app_context():
        dossier = protected(dt.date(2025, 1, 6))
        left = casework.add_new_person(dossier, name=NAME, function="Judge", actor=officer())
        casework.remove_person(dossier, left, officer())
        db.session.commit()
        assert run_on(DUE) == purge.Counts()
        db.session.expire_all()
        assert left.name == NAME

        with clock.as_of(noon(dt.date(2025, 6, 2))):
            workflow.transition(dossier, "close", officer(), "Calm")
            db.session.commit()
        assert run_on(dt.date(2035, 6, 2)).persons == 2
        db.session.expire_all()
        assert left.name == purge.pseudonym(left.id)


# --- The run's audit: one event per committed transaction. ------------------------------


def test_each_committed_batch_is_audited_in_its_own_transaction(app, monkeypatch):
    with app.app_context():
        for n in range(3):
            protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=f"Person {n}a")
        whole = purge.batch
        calls = []

        def stops_at_the_third(ids, still_due):
            calls.append(ids)
            if len(calls) == 3:
                raise RuntimeError("the machine stops")
            return whole(ids, still_due)

        monkeypatch.setattr(purge, "batch", stops_at_the_third)
        with travel(DUE), pytest.raises(RuntimeError):
            retention.run(clock.today(), batch=1)
        db.session.rollback()
        one = {"dossiers": 1, "persons": 1, "documents": 0, "texts": 5}
        assert [e.detail_json for e in runs()] == [one, one]
        assert purged() == 2

        monkeypatch.setattr(purge, "batch", whole)
        assert run_on(DUE) == purge.Counts(dossiers=1, persons=1, texts=5)
        assert [e.detail_json for e in runs()] == [one, one, one]
        assert purged() == 3 and audit.verify().intact


def runs() -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "retention.run")
            .order_by(AuditEvent.sequence)
        )
    )


def purged() -> int:
    return len(db.session.scalars(select(Dossier.id).where(Dossier.purged_at.is_not(None))).all())
