"""The audit trail: what it records, what it never holds, and that tampering shows."""

import importlib.util
import threading
from pathlib import Path

import pytest
from builders import dossier_in, new_dossier, officer
from conftest import plan_of
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from dossiers import audit
from dossiers.extensions import db
from dossiers.models import READ_ACTIONS, WRITES_SQL, AuditEvent, DossierState


def actions(app, **where):
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.sequence)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return [(e.action, e.outcome) for e in db.session.scalars(query)]


def test_reads_of_personal_data_are_recorded(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        reference, measure_id, year = dossier.reference, dossier.measures[0].id, dossier.year
    officer_session = login("officer")
    officer_session.get(f"/dossiers/{reference}")
    officer_session.get(f"/dossiers/{reference}/persons?q=Peet")
    officer_session.get(f"/statistics/{year}/figures/tp_persons")
    officer_session.get(f"/statistics/{year}/report.csv")
    login("partner").get(f"/measures/{measure_id}")
    recorded = [a for a, _ in actions(app)]
    for action in (
        "dossier.view",
        "person.search",
        "statistics.drill",
        "statistics.export",
        "measure.view",
    ):
        assert action in recorded, action


def test_refused_attempts_are_recorded(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        other = dossier_in(DossierState.MEASURES_DECIDED)
        from builders import org

        other.measures[0].organisation_id = org("Federal Police DAP").id
        db.session.commit()
        reference, foreign_measure = dossier.reference, other.measures[0].id
    partner = login("partner")
    assert partner.get(f"/dossiers/{reference}").status_code == 403
    assert partner.get(f"/measures/{foreign_measure}").status_code == 404
    assert login("analyst").get("/admin/users").status_code == 403
    refused = [e for e in actions(app, outcome="refused")]
    assert refused == [("access.refused", "refused")] * 3


def test_the_trail_holds_no_personal_data(app, login):
    with app.app_context():
        reference = new_dossier().reference
    session = login("officer")
    session.post(
        f"/dossiers/{reference}/persons", data={"name": "Zelda Canary-Name", "function": "Judge"}
    )
    session.post(f"/dossiers/{reference}/transition/start_assessment")
    session.post(
        f"/dossiers/{reference}/assessments/new",
        data={
            "source": "ocam",
            "level": "3",
            "assessed_on": "2026-01-05",
            "summary": "Secret canary summary",
        },
    )
    session.get(f"/dossiers/{reference}/persons?q=Zelda")
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.__table__)).all()
    assert len(rows) >= 6
    dump = repr(rows)
    assert "Zelda" not in dump and "Canary" not in dump and "canary" not in dump


def test_a_clean_trail_verifies(app, login):
    with app.app_context():
        dossier_in(DossierState.CLOSED)
    login("officer").get("/dossiers/")
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Audit trail intact" in result.output


def test_sequence_numbers_stay_contiguous_under_concurrent_writes(app):
    def write():
        with app.app_context():
            for _ in range(5):
                audit.record("user.login", actor=None, object_type="user", object_id=None)
                db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        sequences = list(
            db.session.scalars(select(AuditEvent.sequence).order_by(AuditEvent.sequence))
        )
        assert sequences == list(range(1, len(sequences) + 1))
        assert len(sequences) >= 20
        assert audit.verify().intact


def test_the_database_refuses_to_change_or_delete_an_event(app):
    with app.app_context():
        new_dossier()
        for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
                db.session.flush()
            db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) >= 1


def drop_triggers():
    """What an attacker with the database owner's rights would do first."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    else:
        db.session.execute(text("DROP TRIGGER audit_event_no_update"))
        db.session.execute(text("DROP TRIGGER audit_event_no_delete"))


@pytest.fixture
def chained(app):
    """A trail of some events; the triggers taken away, as by a rogue database owner."""
    with app.app_context():
        for _ in range(3):
            dossier_in(DossierState.INTAKE)
        assert audit.verify().intact
        drop_triggers()
        db.session.commit()
    return app


TAMPERING = {
    "edit": ("UPDATE audit_event SET actor_id = NULL WHERE sequence = 4", 4, "altered"),
    "edit the detail": (
        "UPDATE audit_event SET detail = '{\"level\": 1}' WHERE sequence = 2",
        2,
        "altered",
    ),
    "delete": ("DELETE FROM audit_event WHERE sequence = 3", 3, "missing"),
    "swap": (
        "UPDATE audit_event SET sequence = CASE sequence WHEN 2 THEN 5 WHEN 5 THEN 2 END "
        "WHERE sequence IN (2, 5)",
        2,
        "does not follow",
    ),
    "truncate the end": (
        "DELETE FROM audit_event WHERE sequence = (SELECT MAX(sequence) FROM audit_event)",
        None,
        "removed",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_is_detected_and_named(chained, case):
    statement, broken_at, reason = TAMPERING[case]
    with chained.app_context():
        last = db.session.scalar(select(func.max(AuditEvent.sequence)))
        if case == "swap":
            # Unique sequence numbers: move one out of the way first, as an attacker would.
            db.session.execute(text("UPDATE audit_event SET sequence = -1 WHERE sequence = 2"))
            db.session.execute(text("UPDATE audit_event SET sequence = 2 WHERE sequence = 5"))
            db.session.execute(text("UPDATE audit_event SET sequence = 5 WHERE sequence = -1"))
        else:
            db.session.execute(text(statement))
        db.session.commit()
        verdict = audit.verify()
    assert not verdict.intact
    assert verdict.broken_at == (broken_at or last)
    assert reason in verdict.reason
    result = chained.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at event #{verdict.broken_at}" in result.output


def test_a_different_key_breaks_the_chain(chained):
    chained.config["AUDIT_KEY"] = "another key"
    with chained.app_context():
        assert audit.verify().broken_at == 1


def test_officer_is_the_actor_of_a_transition(app):
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)
        event = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.dossier_id == dossier.id, AuditEvent.action == "dossier.transition"
            )
        ).one()
        assert event.actor_id == officer().id and event.remote_addr is None


def test_the_admin_searches_and_exports_the_trail(app, login, user):
    with app.app_context():
        first = dossier_in(DossierState.ASSESSMENT)
        second = dossier_in(DossierState.INTAKE)
        refs = (first.reference, second.reference)
        officer_id = user("officer").id
    login("partner").get("/dossiers/")  # a refused attempt
    admin = login("admin")

    def rows(url):
        page = admin.get(url).text
        return page[page.index("<tbody>") : page.index("</tbody>")]

    page = rows(f"/admin/audit?reference={refs[0]}")
    assert page.count(f">{refs[0]}<") >= 4 and f">{refs[1]}<" not in page
    page = rows("/admin/audit?outcome=refused")
    assert "partner@test.example" in page and "officer@test.example" not in page
    page = rows(f"/admin/audit?actor_id={officer_id}&action=dossier.transition")
    assert page.count("State changed") == 1  # only the first dossier was moved
    page = rows("/admin/audit?since=2000-01-01&until=2000-01-02")
    assert "No event matches." in page
    assert "Jan Peeters" not in admin.get("/admin/audit").text
    csv = admin.get(f"/admin/audit.csv?reference={refs[0]}")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("sequence,at_utc,actor,action")
    assert len(lines) > 4 and all(refs[0] in line for line in lines[1:])
    assert "Jan Peeters" not in csv.text


def test_the_audit_filter_refuses_bad_input_without_showing_everything(login):
    page = login("admin").get("/admin/audit?since=yesterday&actor_id=abc").text
    assert "Not a valid date value." in page and "No event matches." in page


def test_a_dossier_history_shows_its_writes_not_the_reads_of_it(app, login):
    with app.app_context():
        reference = dossier_in(DossierState.ASSESSMENT).reference
    session = login("officer")
    for _ in range(5):
        session.get(f"/dossiers/{reference}")
    page = session.get(f"/dossiers/{reference}").text
    timeline = page[page.index("Timeline") :]
    assert "Dossier opened" in timeline
    assert "Dossier read" not in timeline


def test_a_dossier_history_is_read_from_the_index_of_writes(app, login):
    """Every view of a dossier is an event of that dossier; the history must not walk
    them all, so it must be served by the partial index that leaves the reads out."""
    with app.app_context():
        reference = dossier_in(DossierState.ASSESSMENT).reference
    plan = plan_of(app, login, "officer", f"/dossiers/{reference}", "NOT IN (")
    assert "ix_audit_event_dossier_writes" in plan, plan


def test_the_index_of_writes_is_created_as_the_queries_spell_it():
    # The last migration that built the index (0025: the administrator's access report
    # is a read).
    spec = importlib.util.spec_from_file_location(
        "m0025",
        Path(__file__).parent.parent / "migrations/versions/0025_access_report_is_a_read.py",
    )
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.WRITES_AFTER == WRITES_SQL
    assert set(READ_ACTIONS) >= {
        "dossier.view",
        "measure.view",
        "person.search",
        "document.download",
        "dossier.print",
        "audit.access_report",
    }
