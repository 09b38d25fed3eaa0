"""Failures: a database that goes away and comes back, a failure in the middle of a
change, a full disk, and readiness."""

import os
import socket
import threading

import pytest
from builders import dossier_in
from conftest import sign_in
from flask_migrate import stamp
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from dossiers import audit, create_app
from dossiers.extensions import db
from dossiers.models import Dossier, DossierState, Measure, Transition


class Proxy:
    """A TCP relay to the database that the test can cut and restore, as a network would."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.sockets: list[socket.socket] = []

    def start(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()

    def stop(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self.listener.close()
        for end in self.sockets:
            try:
                end.shutdown(socket.SHUT_RDWR)
                end.close()
            except OSError:
                pass
        self.sockets.clear()


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="needs a database server to cut off (the PostgreSQL run has one)",
)
def test_the_database_goes_away_and_comes_back(app):
    url = make_url(os.environ["TEST_DATABASE_URL"])
    proxy = Proxy(url.port)
    proxy.start()
    through = create_app(
        {
            "CONFIG_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": url.set(port=proxy.port).render_as_string(False),
        }
    )
    try:
        partner = sign_in(through.test_client(), "partner")
        assert partner.get("/measures/").status_code == 200
        proxy.stop()
        page = partner.get("/measures/")
        assert page.status_code == 503 and "The database is not answering" in page.text
        assert through.test_client().get("/healthz").status_code == 503
        assert through.test_client().get("/readyz").status_code == 503
        proxy.start()
        assert partner.get("/measures/").status_code == 200  # no restart needed
        assert through.test_client().get("/healthz").status_code == 200
    finally:
        proxy.stop()
        with through.app_context():
            db.engine.dispose()


def test_readiness_follows_the_migrations(app, client):
    assert client.get("/readyz").status_code == 503  # tables from create_all: never migrated
    with app.app_context():
        stamp(revision="head")
    assert client.get("/readyz").json["status"] == "ready"
    with app.app_context():
        stamp(revision="0001")
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["status"] == "migrations pending"


def broken_audit(monkeypatch, action):
    real = audit.record

    def record(name, **kwargs):
        if name == action:
            raise RuntimeError("the disk controller failed")
        return real(name, **kwargs)

    monkeypatch.setattr(audit, "record", record)


def test_a_failure_in_the_middle_of_a_transition_leaves_no_partial_write(app, login, monkeypatch):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        reference, dossier_id = dossier.reference, dossier.id
        measure_id = dossier.measures[0].id
    session = login("officer")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    broken_audit(monkeypatch, "dossier.transition")  # after the state and measures changed
    response = session.post(f"/dossiers/{reference}/transition/close", data={"reason": "Calm"})
    assert response.status_code == 500
    with app.app_context():
        assert db.session.get(Dossier, dossier_id).state is DossierState.MEASURES_DECIDED
        assert db.session.get(Measure, measure_id).status.value != "lifted"
        assert (
            db.session.scalar(
                select(func.count()).select_from(Transition).where(Transition.name == "close")
            )
            == 0
        )
        assert audit.verify().intact


def test_a_failure_in_the_middle_of_a_measure_report_leaves_no_partial_write(
    app, login, monkeypatch
):
    with app.app_context():
        measure_id = dossier_in(DossierState.MEASURES_DECIDED).measures[0].id
    session = login("partner")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    broken_audit(monkeypatch, "measure.report")
    response = session.post(
        f"/measures/{measure_id}", data={"status": "acknowledged", "note": "seen"}
    )
    assert response.status_code == 500
    with app.app_context():
        measure = db.session.get(Measure, measure_id)
        assert measure.status.value == "requested" and measure.execution_note == ""


@pytest.mark.skipif(
    os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="SQLite's own size cap stands in for a full disk",
)
def test_a_full_disk_gives_a_clear_error_and_loses_nothing(app, login):
    with app.app_context():
        kept = dossier_in(DossierState.INTAKE).reference
    session = login("officer")
    with app.app_context():
        pages = db.session.execute(text("PRAGMA page_count")).scalar()
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    def cap(dbapi_connection, record):
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", cap)
    engine.dispose()  # new connections, with the cap
    try:
        response = session.post(
            "/dossiers/new",
            data={
                "kind": "threatened_person",
                "title": "x" * 200,
                "opened_on": "2025-01-01",
                "ground": "function",
            },
        )
        response = session.post(
            f"/dossiers/{kept}/persons", data={"name": "y" * 160, "function": "z" * 120}
        )
        for _ in range(40):  # fill what room is left
            if response.status_code == 507:
                break
            response = session.post(
                f"/dossiers/{kept}/persons", data={"name": "y" * 160, "function": "z" * 120}
            )
        assert response.status_code == 507 and "no room left" in response.text
    finally:
        event.remove(engine, "connect", cap)
        engine.dispose()
    with app.app_context():
        assert db.session.scalars(select(Dossier.reference)).all().count(kept) == 1
        assert audit.verify().intact
