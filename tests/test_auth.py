"""Signing in and out, sessions, CSRF, configuration and error pages."""

import pytest
from conftest import PASSWORD, csrf_from, sign_in
from sqlalchemy import select

from config import load_config
from dossiers import create_app
from dossiers.extensions import db
from dossiers.models import AuditEvent, User, UserSession


def post_login(client, email, password):
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_same_message_for_unknown_email_and_wrong_password(client):
    unknown = post_login(client, "nobody@test.example", PASSWORD)
    wrong = post_login(client, "officer@test.example", "wrong password")
    assert unknown.status_code == wrong.status_code == 200
    assert "Wrong email or password." in unknown.text
    assert "Wrong email or password." in wrong.text


def test_inactive_user_cannot_sign_in(app, client):
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "officer@test.example")).one()
        user.active = False
        db.session.commit()
    assert "Wrong email or password." in post_login(client, "officer@test.example", PASSWORD).text


def test_passwords_are_argon2id(app):
    with app.app_context():
        for user in db.session.scalars(select(User)):
            assert user.password_hash.startswith("$argon2id$")


def test_sign_in_lands_on_the_role_home(login):
    assert "Dashboard" in login("officer").get("/", follow_redirects=True).text
    assert login("partner").get("/").headers["Location"].endswith("/measures/")
    assert login("analyst").get("/").headers["Location"].endswith("/statistics/")
    assert login("admin").get("/").headers["Location"].endswith("/admin/users")


def test_session_cookie_changes_at_login_and_has_safe_flags(app, client):
    client.get("/login")
    before = client.get_cookie("session").value
    response = post_login(client, "partner@test.example", PASSWORD)
    after = client.get_cookie("session").value
    assert before != after
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(UserSession)) == 1


def test_two_logins_get_two_sessions_and_logout_ends_only_its_own(app, login):
    first, second = login("officer"), login("officer")
    stolen = first.client.get_cookie("session").value
    first.post("/logout")
    assert first.get("/dashboard/").status_code == 302
    assert second.get("/dashboard/").status_code == 200
    # The old cookie replayed by someone else is dead too: the session is revoked.
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/dashboard/").status_code == 302


def test_deactivating_a_user_ends_their_sessions(app, login):
    officer = login("officer")
    admin = login("admin")
    with app.app_context():
        user_id = db.session.scalars(
            select(User.id).where(User.email == "officer@test.example")
        ).one()
    admin.post(
        f"/admin/users/{user_id}",
        data={"email": "officer@test.example", "full_name": "Officer", "role": "officer"},
    )
    assert officer.get("/dashboard/").status_code == 302


def test_missing_csrf_token_gets_a_clean_page_and_changes_nothing(app, login):
    officer = login("officer")
    response = officer.client.post(
        "/dossiers/new", data={"kind": "threatened_person", "title": "x"}
    )
    assert response.status_code == 400
    assert "The form has expired" in response.text
    assert "Traceback" not in response.text


def test_login_is_audited_without_the_password(app, client):
    post_login(client, "partner@test.example", "wrong password")
    post_login(client, "partner@test.example", PASSWORD)
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions == ["user.login_failed", "user.login"]
        assert not any(
            PASSWORD in e.detail or "wrong password" in e.detail
            for e in db.session.scalars(select(AuditEvent))
        )


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config("production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    config = load_config("production")
    assert config.SESSION_COOKIE_SECURE is True


def test_unknown_configuration_name_is_refused():
    with pytest.raises(RuntimeError, match="DOSSIERS_CONFIG"):
        load_config("staging")


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_healthz_503_when_the_database_is_gone(tmp_path):
    app = create_app(
        {"CONFIG_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/none/x.db"}
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    with app.app_context():
        db.engine.dispose()


def test_server_error_page_rolls_back_and_shows_no_trace(app, monkeypatch):
    from dossiers.access import POLICY, PUBLIC

    monkeypatch.setitem(POLICY, "boom", PUBLIC)

    @app.get("/boom")
    def boom():
        db.session.add(
            User(email="ghost@test.example", full_name="Ghost", password_hash="x", role="officer")
        )
        db.session.flush()
        raise RuntimeError("secret internals")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.text and "Traceback" not in response.text
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "ghost@test.example")) is None


def test_sign_in_helper_gets_a_token(client):
    assert sign_in(client, "officer").token
