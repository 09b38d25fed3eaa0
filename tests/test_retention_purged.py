"""A purged dossier: nothing can be added to it again, every column holding personal data
is accounted for, the run says when the database file may still hold old pages, and the
retention periods cannot be set to purge everything."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path

import pytest
from builders import measure_type, officer, org
from retention_builders import partner, protected, run_on, travel
from sqlalchemy import Date, Enum, LargeBinary, String, TypeDecorator, make_url, select, update

from dossiers import (
    casework,
    corrections,
    create_app,
    documents,
    measures,
    partner_messages,
    personal_data,
    purge,
    retention,
    workflow,
)
from dossiers.extensions import db
from dossiers.models import (
    AssessmentSource,
    Dossier,
    DossierNote,
    DossierPerson,
    Measure,
    MeasureMessageKind,
    MeasureStatus,
    Person,
    User,
)
from dossiers.refusals import Refused

NAME = "Wilhelmina Quetzalcoatl"
PURGED = "Its personal data was removed after its retention period: open a new dossier."
DUE = dt.date(2034, 3, 15)


@pytest.fixture
def gone(app):
    """A dossier purged with everything a dossier can hold, its measures put back in force
    (as no closing would leave them) so that only the purge rule can refuse a partner."""
    with app.app_context():
        dossier = protected(
            dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME, everything=True
        )
        assert run_on(DUE).dossiers == 1
        db.session.execute(
            update(Measure)
            .where(Measure.dossier_id == dossier.id)
            .values(status=MeasureStatus.ACKNOWLEDGED)
        )
        db.session.commit()
        return dossier.id


def _measure(d: Dossier) -> Measure:
    return d.measures[0]


ADDITIONS = {
    "note": lambda d: casework.add_note(d, f"{NAME} called again", officer()),
    "new person": lambda d: casework.add_new_person(
        d, name=NAME, function="Judge", actor=officer()
    ),
    "known person": lambda d: casework.link_person(
        d, protected(dt.date(2025, 1, 6), name="Marie Dubois").persons[0], officer()
    ),
    "person corrected": lambda d: casework.update_person(
        d, d.persons[0], name=NAME, function="Judge", category=None, country=None, actor=officer()
    ),
    "person removed": lambda d: casework.remove_person(d, d.persons[0], officer()),
    "assessment": lambda d: casework.record_assessment(
        d,
        source=AssessmentSource.OCAM,
        level=2,
        assessed_on=dt.date(2024, 1, 1),
        review_on=None,
        summary=f"{NAME} again",
        actor=officer(),
    ),
    "assessment withdrawn": lambda d: corrections.withdraw_assessment(
        d.assessments[0], f"Not {NAME}", officer()
    ),
    "measure": lambda d: measures.add_measure(
        d,
        measure_type=measure_type(),
        description=f"For {NAME}",
        organisation=org("Police zone"),
        start_date=dt.date(2024, 1, 1),
        end_date=None,
        actor=officer(),
    ),
    "measure withdrawn": lambda d: corrections.withdraw_measure(_measure(d), NAME, officer()),
    "partner's report": lambda d: measures.report_on_measure(
        _measure(d), MeasureStatus.IN_EXECUTION, f"Met {NAME}", partner()
    ),
    "partner's message": lambda d: partner_messages.send(
        _measure(d), MeasureMessageKind.QUESTION, f"Where is {NAME}?", partner()
    ),
    "document": lambda d: documents.attach(
        d, name=f"{NAME}.pdf", content=b"%PDF-1.4\n%%EOF\n", actor=officer()
    ),
    "legal hold": lambda d: retention.place_hold(d, f"Court case of {NAME}", officer()),
    "legal hold lifted": lambda d: retention.lift_hold(d, f"{NAME}'s case closed", officer()),
    "reopened": lambda d: workflow.transition(d, "reopen", officer(), f"{NAME} again"),
    "handed over": lambda d: casework.hand_over(
        d,
        db.session.scalars(select(User).where(User.email.startswith("officer2"))).one(),
        officer(),
    ),
}


@pytest.mark.parametrize("what", ADDITIONS)
def test_nothing_can_be_added_to_a_purged_dossier(app, gone, what):
    with app.app_context():
        dossier = db.session.get(Dossier, gone)
        with pytest.raises(Refused) as refused:
            ADDITIONS[what](dossier)
        assert str(refused.value) == PURGED
        db.session.rollback()
        assert NAME not in "".join(str(row) for row in everything_of(gone))


def everything_of(dossier_id: int) -> list:
    """Every text, date and detail the dossier's own rows hold, and its persons'."""
    rows: list = [db.session.get(Dossier, dossier_id).title]
    for entry in personal_data.EMPTIED:
        columns = (*entry.texts, *entry.details)
        rows += db.session.execute(select(*columns).where(entry.of_dossiers([dossier_id]))).all()
    persons = select(DossierPerson.person_id).where(DossierPerson.dossier_id == dossier_id)
    rows += db.session.execute(
        select(Person.name, Person.function, Person.date_of_birth, Person.country).where(
            Person.id.in_(persons)
        )
    ).all()
    return rows


def test_the_purged_dossier_page_has_no_note_form_and_a_note_posted_is_refused(app, gone, login):
    with app.app_context():
        reference = db.session.get(Dossier, gone).reference
    officer_ = login("officer")
    page = officer_.get(f"/dossiers/{reference}").text
    assert "Add the note" not in page and 'action="/dossiers/' + reference + '/notes"' not in page
    posted = officer_.post(
        f"/dossiers/{reference}/notes", data={"body": f"{NAME} called"}, follow_redirects=True
    )
    assert PURGED in posted.text
    with app.app_context():
        bodies = db.session.scalars(select(DossierNote.body).where(DossierNote.dossier_id == gone))
        assert set(bodies) == {""}


def test_a_purge_forgets_whose_family_and_a_vips_days_at_the_event(app):
    with app.app_context():
        dossier = protected(
            dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME, everything=True
        )
        links = db.session.scalars(
            select(DossierPerson).where(DossierPerson.dossier_id == dossier.id)
        ).all()
        for link in links:
            link.arrival_date, link.departure_date = dt.date(2023, 2, 10), dt.date(2023, 2, 12)
        db.session.commit()
        assert any(link.family_of_id for link in links)

        run_on(DUE)
        db.session.expire_all()
        assert (
            db.session.execute(
                select(
                    DossierPerson.family_of_id,
                    DossierPerson.arrival_date,
                    DossierPerson.departure_date,
                    DossierPerson.relation,
                ).where(DossierPerson.dossier_id == dossier.id)
            ).all()
            == [(None, None, None, "")] * 2
        )


# Columns that can hold what someone typed, a date of someone's life, or a file.
HOLDING = (String, Date, LargeBinary)


def test_every_column_that_can_hold_personal_data_is_purged_or_kept_for_a_reason(app):
    """A new text, date or file column fails here until personal_data.py says whether a
    purge removes it (and purge.py does) or keeps it, and why."""
    found = set()
    for mapper in db.Model.registry.mappers:
        for column in mapper.columns:
            kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
            # An enum stores one of a closed list of codes: it can hold no free text.
            if isinstance(kind, HOLDING) and not isinstance(kind, Enum):
                found.add(f"{column.table.name}.{column.name}")
    removed, kept = personal_data.removed(), personal_data.kept()
    assert sorted(found - removed - kept.keys()) == []  # neither: say which
    assert sorted(removed & kept.keys()) == []  # both
    assert all(len(why) > 10 for why in kept.values())
    # Nothing listed that is not a column of those kinds (a stale entry hides nothing).
    assert sorted(kept.keys() - found) == []
    assert {"person.name", "dossier.title", "dossier_person.arrival_date"} <= removed


def test_the_run_and_the_access_report_read_one_map_of_where_a_person_is_named(app):
    """Whom a dossier names (the run pseudonymises them) and which dossiers name a person
    (their access report lists them) are one registry read both ways: a person taken out
    of the dossier included."""
    from dossiers import access_report

    with app.app_context():
        dossier = protected(dt.date(2023, 2, 1), name=NAME, everything=True)
        left = casework.add_new_person(
            dossier, name="Ludovic Left", function="Judge", actor=officer()
        )
        casework.remove_person(dossier, left, officer())
        other = protected(dt.date(2023, 2, 1), name="Marie Dubois")
        db.session.commit()
        named = set(db.session.scalars(personal_data.named_by([dossier.id]))) - {None}
        assert left.id in named and len(named) == 3
        for person_id in named | {other.persons[0].id}:
            listed = access_report.find("", str(person_id)).dossier_ids
            assert (dossier.id in listed) == (person_id in named)

        with travel(dt.date(2023, 3, 1)):
            workflow.transition(dossier, "close", officer(), "Calm")
            db.session.commit()
        assert run_on(dt.date(2033, 3, 1)).persons == 3
        pseudonymised = db.session.scalars(
            select(Person.id).where(Person.pseudonymised_at.is_not(None))
        )
        assert set(pseudonymised) == named


# --- SQLite's write-ahead log. ---------------------------------------------------------


def sqlite_file(app) -> Path:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL has no write-ahead log file of the database's own to empty")
    return Path(url.database or "")


def reading(path: Path) -> sqlite3.Connection:
    """Another process's reader, in the middle of a read: the log cannot be emptied."""
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM person").fetchone()
    return reader


def test_a_log_that_cannot_be_emptied_fails_the_command_with_a_warning(app, monkeypatch):
    path = sqlite_file(app)
    monkeypatch.setattr(purge, "CHECKPOINT_WAITS", (0.01, 0.02, 0.04))
    with app.app_context():
        protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME)
    reader = reading(path)
    try:
        with travel(DUE):
            result = app.test_cli_runner().invoke(args=["retention", "run"])
    finally:
        reader.close()
    assert result.exit_code == 1, result.output
    assert "Done: dossiers purged: 1; persons pseudonymised: 1;" in result.output
    assert "WARNING: SQLite's write-ahead log could not be emptied" in result.output
    with app.app_context():
        assert purge.forget_old_pages()  # the reader gone, the next try empties it
    assert Path(f"{path}-wal").stat().st_size == 0


def test_emptying_the_log_tries_again_while_a_reader_finishes(app):
    path = sqlite_file(app)
    with app.app_context():
        protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME)
    reader = reading(path)
    threading.Timer(0.3, lambda: reader.execute("COMMIT")).start()
    try:
        with app.app_context():
            assert purge.forget_old_pages(waits=(0.05, 0.05, 2.0))
    finally:
        reader.close()


# --- The retention periods' settings. ----------------------------------------------------


@pytest.mark.parametrize("value", [0, -2, "0", "", "ten", "1.5", True, 101, "9999", "\u0661\u0660"])
def test_a_retention_period_outside_a_year_to_a_century_stops_the_start(
    value, tmp_path, monkeypatch
):
    """A typo of 0 would purge every closed dossier; one of 9999 would fail every closed
    dossier's page (a date past the calendar's last year)."""
    url = f"sqlite:///{tmp_path / 'any.db'}"
    with pytest.raises(RuntimeError, match="RETENTION_VIP_YEARS must be a whole number"):
        create_app(
            {"CONFIG_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "RETENTION_VIP_YEARS": value}
        )
    monkeypatch.setenv("RETENTION_TP_YEARS", str(value))
    with pytest.raises(RuntimeError, match="RETENTION_TP_YEARS must be a whole number"):
        create_app({"CONFIG_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})


def test_a_retention_period_from_the_environment_is_read_as_years(tmp_path, monkeypatch):
    monkeypatch.setenv("RETENTION_TP_YEARS", " 7 ")
    monkeypatch.setenv("RETENTION_VIP_YEARS", "100")
    url = f"sqlite:///{tmp_path / 'any.db'}"
    app = create_app({"CONFIG_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    assert (app.config["RETENTION_TP_YEARS"], app.config["RETENTION_VIP_YEARS"]) == (7, 100)
    with app.app_context():  # the longest period from the last day a form accepts
        assert retention.add_years(dt.date(2199, 12, 31), 100) == dt.date(2299, 12, 31)
        assert retention.latest_start(dt.date(1900, 1, 1), 100) == dt.date(1800, 1, 1)


def test_a_batch_finds_the_persons_its_dossiers_named_by_the_dossier_index(app):
    """A run asks, at every batch, whom its dossiers named: through the dossiers' index,
    not every person event of the audit trail (which grows with the years)."""
    from sqlalchemy import text as sql

    from dossiers.personal_data import named_by

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's planner, which keeps no statistics, is the one to steer")
        batch = list(range(1, 501))  # a batch of a run
        compiled = named_by(batch).compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = [row[3] for row in db.session.execute(sql(f"EXPLAIN QUERY PLAN {compiled}"))]
    [audit] = [step for step in plan if "audit_event" in step]
    assert "ix_audit_event_dossier_at" in audit, plan


def test_a_run_repeats_no_statement_that_reads_a_whole_table(app):
    """A run's work grows with what is due, not with the years kept: a statement made at
    every batch (choosing the next dossiers, locking and deciding their persons, clearing
    their texts) finds its rows by an index, whatever the statistics of a real data set
    (most assessments and measures for a whole dossier, not a person) make SQLite expect."""
    from sqlalchemy import event
    from sqlalchemy import text as sql

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's planner, whose statistics count the rows with no person")
        seeded = app.test_cli_runner().invoke(
            args=["seed-scale", "--factor", "0.5", "--years", "2", "--last-year", "2024"]
        )
        assert seeded.exit_code == 0, seeded.output
        assert db.session.scalar(sql("SELECT count(*) FROM sqlite_stat1")), "no statistics"
        made: dict[str, tuple] = {}
        times: dict[str, int] = {}

        def seen(connection, cursor, statement, parameters, context, executemany):
            if not executemany and statement.lstrip().startswith(("SELECT", "UPDATE", "DELETE")):
                made.setdefault(statement, parameters)
                times[statement] = times.get(statement, 0) + 1

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            done = retention.run(dt.date(2040, 1, 1), batch=40)
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        assert done.dossiers > 200 and done.persons > 40
        repeated = [statement for statement, n in times.items() if n > 1]
        assert len(repeated) > 10
        for statement in repeated:
            plan = [
                row[3]
                for row in db.session.connection().exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {statement}", made[statement]
                )
            ]
            # A sort of a whole table too: the batch's own rows are merged (UNION) in memory.
            reads_all = [s for s in plan if s.startswith("SCAN") or "FOR ORDER BY" in s]
            assert not reads_all, (statement, plan)
