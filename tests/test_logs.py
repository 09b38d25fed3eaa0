"""Logs: one JSON object a line, a correlation id on errors, nothing secret or personal."""

import json

from conftest import PASSWORD
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
