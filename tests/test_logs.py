"""Logs: one JSON object a line, a correlation id on errors, nothing secret or personal."""

import json
import runpy
import socket

from conftest import PASSWORD
from servers import ROOT, gunicorn
from sqlalchemy import select

from dossiers.access import POLICY, PUBLIC
from dossiers.extensions import db
from dossiers.models import User


def json_lines(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # fails on any line that is not JSON


def test_logs_hold_no_secret_and_no_personal_data(app, login, capsys):
    capsys.readouterr()
    officer = login("officer")
    reference = None
    response = officer.post(
        "/dossiers/new",
        data={
            "kind": "threatened_person",
            "title": "Canary title",
            "opened_on": "2025-01-02",
            "ground": "function",
        },
        follow_redirects=True,
    )
    reference = response.request.path.rsplit("/", 1)[-1]
    officer.post(
        f"/dossiers/{reference}/persons", data={"name": "Zelda Canary", "function": "Judge"}
    )
    officer.get(f"/dossiers/{reference}/persons?q=Zelda")
    officer.post(
        f"/dossiers/{reference}/persons",
        data={"name": 'x\n{"level": "CRITICAL", "message": "forged"}', "function": "y"},
    )
    captured = capsys.readouterr()
    entries = json_lines(captured.err)
    assert any(e.get("path") == f"/dossiers/{reference}/persons" for e in entries)
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "officer@test.example")).one()
        secret = user.totp_secret
    cookie = officer.client.get_cookie("session").value
    for needle in (PASSWORD, secret, cookie, "Zelda", "Canary", "forged"):
        assert needle not in captured.err, needle
    assert all(e.get("message") != "forged" for e in entries)


def test_a_500_shows_a_correlation_id_that_is_in_the_log(app, monkeypatch, capsys):
    monkeypatch.setitem(POLICY, "crash", PUBLIC)

    @app.get("/crash")
    def crash():
        raise ValueError("Jan Peeters, Rue de la Loi 16")  # personal data in a message

    app.config["PROPAGATE_EXCEPTIONS"] = False
    capsys.readouterr()
    response = app.test_client().get("/crash")
    assert response.status_code == 500
    correlation = response.headers["X-Request-ID"]
    assert correlation in response.text
    assert "Traceback" not in response.text and "Jan Peeters" not in response.text
    logged = capsys.readouterr().err
    errors = [e for e in json_lines(logged) if e["message"] == "unhandled error"]
    assert errors and errors[0]["request_id"] == correlation and errors[0]["error"] == "ValueError"
    assert "Jan Peeters" not in logged


def test_an_incoming_request_id_is_kept_only_when_it_is_safe(client):
    assert (
        client.get("/healthz", headers={"X-Request-ID": "lb-1234abcd"}).headers["X-Request-ID"]
        == "lb-1234abcd"
    )
    forged = client.get("/healthz", headers={"X-Request-ID": 'x"} {"injected": 1'}).headers[
        "X-Request-ID"
    ]
    assert "injected" not in forged and len(forged) == 32


def test_gunicorns_error_log_keeps_paths_only(tmp_path):
    """A malformed request line: gunicorn logs it, its query string cut out."""
    errors = tmp_path / "gunicorn.log"
    database = f"sqlite:///{tmp_path / 'g.db'}"
    with gunicorn(errors=errors, DOSSIERS_CONFIG="testing", DATABASE_URL=database) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(b"GET /dossiers/?q=Zelda\x01Canary HTTP/1.1\r\nHost: x\r\n\r\n")
            assert connection.recv(100).startswith(b"HTTP/1.1 400")
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(b"GET /dossiers/?q=Jan Peeters HTTP/1.1\r\nHost: x\r\n\r\n")
            assert connection.recv(100).startswith(b"HTTP/1.1 400")
    logged = errors.read_text()
    assert "Invalid HTTP request line: '…'" in logged and "Invalid HTTP Version: '…'" in logged
    assert "Zelda" not in logged and "Canary" not in logged and "Peeters" not in logged


def test_gunicorns_error_handler_names_the_path_not_the_query(capsys):
    from gunicorn.config import Config

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = Config()
    config.set("errorlog", "-")
    logger = settings["logger_class"](config)
    try:
        raise ValueError("while sending /dossiers/?q=Zelda+Canary")
    except ValueError:
        logger.exception("Error handling request %s %s", "GET", "/dossiers/?q=Zelda+Canary")
    logged = capsys.readouterr().err
    assert "Error handling request GET /dossiers/?" in logged and "ValueError" in logged
    assert "Zelda" not in logged and "Canary" not in logged
