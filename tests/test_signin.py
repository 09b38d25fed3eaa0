"""Sign-in protections: the second factor, guessing limits, session ends, passwords,
and where a sign-in may send the user afterwards."""

import datetime as dt
import re

import pyotp
import pytest
from conftest import PASSWORD, csrf_from, sign_in, totp_code
from sqlalchemy import select, update

from dossiers.accounts import create_user
from dossiers.clock import now_utc
from dossiers.extensions import db
from dossiers.models import AuditEvent, Role, User, UserSession
from dossiers.refusals import Refused


def password_step(client, email, password=PASSWORD, next_url=""):
    page = client.get(f"/login{next_url}")
    return client.post(
        f"/login{next_url}",
        data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
    )


def code_step(client, code):
    page = client.get("/login/totp")
    return client.post("/login/totp", data={"code": code, "csrf_token": csrf_from(page.text)})


def officer(app):
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "officer@test.example")).one()
        return user.totp_secret, user.totp_last_step


def test_officers_need_the_second_factor(app, client):
    response = password_step(client, "officer@test.example")
    assert response.headers["Location"] == "/login/totp"
    assert client.get("/dashboard/").status_code == 302  # not signed in yet
    response = code_step(client, "000000")
    assert "This code is not valid" in response.text
    secret, last = officer(app)
    response = code_step(client, totp_code(secret, last))
    assert response.headers["Location"] == "/"
    assert client.get("/dashboard/").status_code == 200


def test_a_code_works_only_once(app):
    secret, last = officer(app)
    code = totp_code(secret, last)
    first, second = app.test_client(), app.test_client()
    password_step(first, "officer@test.example")
    assert code_step(first, code).status_code == 302
    password_step(second, "officer@test.example")
    assert "This code is not valid" in code_step(second, code).text


def test_a_recovery_code_works_once(app, user):
    from dossiers.auth import new_recovery_codes

    with app.app_context():
        codes = new_recovery_codes(user("officer"))
        db.session.commit()
    for attempt, expected in ((1, 302), (2, 200)):
        client = app.test_client()
        password_step(client, "officer@test.example")
        assert code_step(client, codes[0].upper()).status_code == expected, attempt


def test_five_wrong_codes_end_the_attempt(app, client):
    password_step(client, "officer@test.example")
    for _ in range(4):
        code_step(client, "123456")
    response = code_step(client, "123456")
    assert response.headers["Location"] == "/login"
    assert client.get("/login/totp").headers["Location"] == "/login"


def test_the_password_step_expires(app, client):
    password_step(client, "officer@test.example")
    with client.session_transaction() as session:
        session["pending_since"] -= 301
    assert client.get("/login/totp").headers["Location"] == "/login"


def test_first_sign_in_enrols_with_a_qr_code_and_gives_recovery_codes(app, client):
    with app.app_context():
        create_user(
            email="new.officer@test.example",
            full_name="New Officer",
            role=Role.OFFICER,
            password="Tilted-Lantern-Orchard-93",
            organisation_id=None,
            actor=None,
        )
        db.session.commit()
    response = password_step(client, "new.officer@test.example", "Tilted-Lantern-Orchard-93")
    assert response.headers["Location"] == "/login/enrol"
    page = client.get("/login/enrol").text
    assert 'src="data:image/svg+xml' in page
    secret = re.search(r'class="totp-secret">([A-Z2-7]+)<', page).group(1)
    token = csrf_from(page)
    response = client.post(
        "/login/enrol", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token}
    )
    codes = re.findall(r"<code>([0-9a-f]{8}-[0-9a-f]{8})</code>", response.text)
    assert len(codes) == 10
    assert client.get("/dashboard/").status_code == 200
    with app.app_context():
        user = db.session.scalars(
            select(User).where(User.email == "new.officer@test.example")
        ).one()
        assert user.totp_confirmed_at is not None
        assert all(code not in user.recovery_codes for code in codes)  # stored hashed


def test_partners_sign_in_with_a_password_alone(client):
    response = password_step(client, "partner@test.example")
    assert response.headers["Location"] == "/"


def test_create_user_with_totp_prints_its_secret_last_and_it_signs_in(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "ops@test.example", "--role", "officer", "--totp"],
        input="Tilted-Lantern-Orchard-93\n",
    )
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    secret = re.fullmatch(r"TOTP secret: ([A-Z2-7]+)", last).group(1)
    client = app.test_client()
    password_step(client, "ops@test.example", "Tilted-Lantern-Orchard-93")
    assert code_step(client, pyotp.TOTP(secret).now()).headers["Location"] == "/"


def test_admin_resets_a_lost_second_factor(app, login, user):
    officer_session = login("officer")
    admin = login("admin")
    with app.app_context():
        officer_id = user("officer").id
    assert admin.post(f"/admin/users/{officer_id}/reset-two-factor").status_code == 302
    assert officer_session.get("/dashboard/").status_code == 302  # its sessions ended
    client = app.test_client()
    assert password_step(client, "officer@test.example").headers["Location"] == "/login/enrol"


@pytest.mark.parametrize("email", ["partner@test.example", "nobody@test.example"])
def test_guessing_is_slowed_then_refused_alike_for_known_and_unknown_accounts(app, client, email):
    for _ in range(5):
        assert "Wrong email or password." in password_step(client, email, "guess").text
    response = password_step(client, email, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEvent))]
    assert actions.count("user.login_failed") == 5 and "user.login_locked" in actions


def test_a_success_before_the_limit_clears_the_count(app, client):
    for _ in range(4):
        password_step(client, "partner@test.example", "guess")
    assert password_step(client, "partner@test.example").headers["Location"] == "/"


def test_too_many_posts_from_one_address_are_refused(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    statuses = [
        password_step(app.test_client(), "nobody@test.example", "x").status_code for _ in range(4)
    ]
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429


def test_sessions_end_when_idle_for_30_minutes(app, login):
    session = login("partner")
    with app.app_context():
        db.session.execute(
            update(UserSession).values(last_seen_at=now_utc() - dt.timedelta(minutes=31))
        )
        db.session.commit()
    assert session.get("/measures/").status_code == 302


def test_sessions_end_after_12_hours_even_when_busy(app, login):
    session = login("partner")
    with app.app_context():
        db.session.execute(
            update(UserSession).values(expires_at=now_utc() - dt.timedelta(seconds=1))
        )
        db.session.commit()
    assert session.get("/measures/").status_code == 302


def test_use_keeps_a_session_alive(app, login):
    session = login("partner")
    with app.app_context():
        db.session.execute(
            update(UserSession).values(last_seen_at=now_utc() - dt.timedelta(minutes=29))
        )
        db.session.commit()
    assert session.get("/measures/").status_code == 200
    with app.app_context():
        seen = db.session.scalar(select(UserSession.last_seen_at))
    assert now_utc() - seen < dt.timedelta(minutes=1)


def test_a_new_password_ends_the_sessions(app, login, user):
    partner = login("partner")
    with app.app_context():
        partner_id = user("partner").id
    login("admin").post(
        f"/admin/users/{partner_id}",
        data={
            "email": "partner@test.example",
            "full_name": "Partner",
            "role": "partner",
            "organisation_id": "2",  # the zone, unchanged
            "password": "Tilted-Lantern-Orchard-93",
            "active": "y",
        },
    )
    assert partner.get("/measures/").status_code == 302
    client = app.test_client()
    assert (
        password_step(client, "partner@test.example", "Tilted-Lantern-Orchard-93").status_code
        == 302
    )


def test_a_new_role_ends_the_sessions(app, login, user):
    partner = login("partner")
    with app.app_context():
        partner_id = user("partner").id
    login("admin").post(
        f"/admin/users/{partner_id}",
        data={
            "email": "partner@test.example",
            "full_name": "Partner",
            "role": "analyst",
            "active": "y",
        },
    )
    assert partner.get("/measures/").status_code == 302


@pytest.mark.parametrize(
    "password,message",
    [
        ("short", "at least 12"),
        ("password1234", "common passwords"),
        ("aaaaaaaaaaaaaaaa", "too easy"),
        ("jan.peeters@test.example", "too easy"),
    ],
)
def test_weak_passwords_are_refused(app, password, message):
    with app.app_context(), pytest.raises(Refused, match=message):
        create_user(
            email="jan.peeters@test.example",
            full_name="Jan Peeters",
            role=Role.ANALYST,
            password=password,
            organisation_id=None,
            actor=None,
        )


def test_a_strong_password_is_accepted_and_stored_as_argon2id(app):
    with app.app_context():
        user = create_user(
            email="x@test.example",
            full_name="X",
            role=Role.ANALYST,
            password="Tilted-Lantern-Orchard-93",
            organisation_id=None,
            actor=None,
        )
        assert user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    "target,lands",
    [
        ("/dossiers/", "/dossiers/"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_only_leads_inside_the_app(client, target, lands):
    from urllib.parse import quote

    response = password_step(client, "partner@test.example", next_url=f"?next={quote(target)}")
    assert response.headers["Location"] == lands


def test_sign_in_helper_passes_the_second_factor(app):
    assert sign_in(app.test_client(), "admin").token
