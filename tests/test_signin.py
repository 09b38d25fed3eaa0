"""Sign-in protections: the second factor, guessing limits, session ends, passwords,
and where a sign-in may send the user afterwards."""

import datetime as dt
import re

import pyotp
import pytest
import time_machine
from conftest import PASSWORD, csrf_from, sign_in, totp_code
from sqlalchemy import select, update

from dossiers.accounts import create_user, issue_enrolment_code, reset_second_factor
from dossiers.clock import now_utc
from dossiers.extensions import db
from dossiers.models import AuditEvent, LoginFailure, Role, User, UserSession
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


def enrol_step(client, code):
    page = client.get("/login/enrol")
    return client.post("/login/enrol", data={"code": code, "csrf_token": csrf_from(page.text)})


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


def test_wrong_codes_are_counted_per_account_whatever_cookie_comes_back(app, client):
    """Replaying the cookie saved after the password step gives no fresh guesses."""
    password_step(client, "officer@test.example")
    token = csrf_from(client.get("/login/totp").text)
    saved = client.get_cookie("session").value

    def replayed(code):
        client.set_cookie("session", saved)  # the cookie as it was before any guess
        return client.post("/login/totp", data={"code": code, "csrf_token": token})

    for _ in range(4):
        assert "This code is not valid" in replayed("123456").text
    assert replayed("123456").headers["Location"] == "/login"
    secret, last = officer(app)
    refused = replayed(totp_code(secret, last))  # even the right code, for now
    assert refused.headers["Location"] == "/login"
    # A new password step from a fresh browser does not reset the count either.
    fresh = app.test_client()
    assert password_step(fresh, "officer@test.example").headers["Location"] == "/login/totp"
    assert fresh.get("/login/totp").headers["Location"] == "/login"
    follow = fresh.get("/login")
    assert "Too many wrong codes" in follow.text
    # The window passes: the right code works again.
    with time_machine.travel(now_utc() + dt.timedelta(minutes=16)):
        later = app.test_client()
        password_step(later, "officer@test.example")
        assert code_step(later, totp_code(secret, last)).headers["Location"] == "/"


def test_wrong_recovery_codes_count_too_and_a_right_password_does_not_clear_them(app):
    for _ in range(2):
        client = app.test_client()
        password_step(client, "officer@test.example")
        for _ in range(2):
            assert "This code is not valid" in code_step(client, "abcd1234-abcd1234").text
    client = app.test_client()
    password_step(client, "officer@test.example")
    assert code_step(client, "abcd1234-abcd1234").headers["Location"] == "/login"
    with app.app_context():
        failures = db.session.scalars(select(LoginFailure.step)).all()
    assert failures.count("code") == 5


def test_the_password_step_expires(app, client):
    password_step(client, "officer@test.example")
    with client.session_transaction() as session:
        session["pending_since"] -= 301
    assert client.get("/login/totp").headers["Location"] == "/login"


def enrolment_code_from(page: str) -> str:
    return re.search(r'class="[^"]*enrolment-code[^"]*">([0-9A-F-]{19})<', page).group(1)


def test_first_sign_in_asks_the_enrolment_code_the_admin_issued(app, login, client):
    admin = login("admin")
    created = admin.post(
        "/admin/users/new",
        data={
            "email": "new.officer@test.example",
            "full_name": "New Officer",
            "role": "officer",
            "password": "Tilted-Lantern-Orchard-93",
        },
    )
    assert created.status_code == 200
    code = enrolment_code_from(created.text)
    response = password_step(client, "new.officer@test.example", "Tilted-Lantern-Orchard-93")
    assert response.headers["Location"] == "/login/enrol"
    page = client.get("/login/enrol").text
    assert "Enrolment code" in page
    assert "data:image/svg+xml" not in page and "totp-secret" not in page  # nothing yet
    wrong = client.post(
        "/login/enrol", data={"code": "0000-0000-0000-0000", "csrf_token": csrf_from(page)}
    )
    assert "This enrolment code is not valid or has expired" in wrong.text
    entered = client.post(
        "/login/enrol", data={"code": code.lower(), "csrf_token": csrf_from(page)}
    )
    assert entered.headers["Location"] == "/login/enrol"
    page = client.get("/login/enrol").text
    assert 'src="data:image/svg+xml' in page
    secret = re.search(r'class="totp-secret">([A-Z2-7]+)<', page).group(1)
    response = client.post(
        "/login/enrol", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page)}
    )
    codes = re.findall(r"<code>([0-9a-f]{8}-[0-9a-f]{8})</code>", response.text)
    assert len(codes) == 10
    # Signed in with both factors; the password an admin chose is replaced next.
    assert client.get("/dashboard/").headers["Location"].startswith("/password")
    with app.app_context():
        user = db.session.scalars(
            select(User).where(User.email == "new.officer@test.example")
        ).one()
        assert user.totp_confirmed_at is not None
        assert user.enrolment_code_hash is None  # used: it works once
        assert all(code not in user.recovery_codes for code in codes)  # stored hashed


def test_the_password_alone_enrols_nothing(app, client, user):
    with app.app_context():
        officer_user = user("officer")
        reset_code = reset_second_factor(officer_user, None)
        db.session.commit()
    assert reset_code
    password_step(client, "officer@test.example")
    page = client.get("/login/enrol").text
    # A six-digit guess where the enrolment code goes, and the secret never shown.
    refused = client.post("/login/enrol", data={"code": "123456", "csrf_token": csrf_from(page)})
    assert "This enrolment code is not valid" in refused.text
    assert "totp-secret" not in refused.text
    with app.app_context():
        assert user("officer").totp_secret is None


def test_an_enrolment_code_expires(app, client, user):
    with app.app_context():
        code = reset_second_factor(user("officer"), None)
        db.session.commit()
    with time_machine.travel(now_utc() + dt.timedelta(hours=73)):
        password_step(client, "officer@test.example")
        page = client.get("/login/enrol").text
        refused = client.post("/login/enrol", data={"code": code, "csrf_token": csrf_from(page)})
        assert "has expired" in refused.text


def test_wrong_enrolment_codes_lock_the_enrolment(app, user):
    with app.app_context():
        code = reset_second_factor(user("officer"), None)
        db.session.commit()
    client = app.test_client()
    password_step(client, "officer@test.example")
    for _ in range(4):
        page = client.get("/login/enrol").text
        client.post(
            "/login/enrol", data={"code": "AAAA-BBBB-CCCC-DDDD", "csrf_token": csrf_from(page)}
        )
    page = client.get("/login/enrol").text
    locked = client.post(
        "/login/enrol", data={"code": "AAAA-BBBB-CCCC-DDDD", "csrf_token": csrf_from(page)}
    )
    assert locked.headers["Location"] == "/login"
    again = app.test_client()
    password_step(again, "officer@test.example")
    assert again.get("/login/enrol").headers["Location"] == "/login"  # the right code waits
    with time_machine.travel(now_utc() + dt.timedelta(minutes=16)):
        later = app.test_client()
        password_step(later, "officer@test.example")
        assert enrol_step(later, code).headers["Location"] == "/login/enrol"


def test_a_code_reissued_meanwhile_ends_an_enrolment_under_way(app, user):
    with app.app_context():
        code = reset_second_factor(user("officer"), None)
        db.session.commit()
    client = app.test_client()
    password_step(client, "officer@test.example")
    assert enrol_step(client, code).headers["Location"] == "/login/enrol"
    assert "totp-secret" in client.get("/login/enrol").text
    with app.app_context():
        issue_enrolment_code(user("officer"), None)  # an admin, meanwhile
        db.session.commit()
    page = client.get("/login/enrol").text
    assert "totp-secret" not in page and "Enrolment code" in page


def test_the_sign_in_pages_are_never_cached(app, client, user):
    with app.app_context():
        code = reset_second_factor(user("officer"), None)
        db.session.commit()
    password_step(client, "officer@test.example")
    enrol_step(client, code)
    secret_page = client.get("/login/enrol")
    assert "totp-secret" in secret_page.text
    assert secret_page.headers["Cache-Control"] == "no-store"
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_resetting_a_role_without_second_factor_needs_no_code(app, login, user):
    with app.app_context():
        partner = user("partner")
        partner.totp_secret, partner.totp_confirmed_at = pyotp.random_base32(), now_utc()
        db.session.commit()
        partner_id = partner.id
    reset = login("admin").post(f"/admin/users/{partner_id}/reset-two-factor")
    assert reset.status_code == 302
    with app.app_context():
        assert user("partner").totp_confirmed_at is None


def test_an_admin_issues_a_new_enrolment_code_and_the_old_one_stops(app, login, user):
    with app.app_context():
        first = reset_second_factor(user("officer"), None)
        db.session.commit()
        officer_id = user("officer").id
    admin = login("admin")
    page = admin.get(f"/admin/users/{officer_id}").text
    assert "Issue a new enrolment code" in page
    issued = admin.post(f"/admin/users/{officer_id}/enrolment-code")
    second = enrolment_code_from(issued.text)
    assert second != first
    client = app.test_client()
    password_step(client, "officer@test.example")
    old = enrol_step(client, first)
    assert "not valid" in old.text
    new = enrol_step(client, second)
    assert new.headers.get("Location") == "/login/enrol", new.text


def test_partners_sign_in_with_a_password_alone(client):
    response = password_step(client, "partner@test.example")
    assert response.headers["Location"] == "/"


def test_create_user_prints_an_enrolment_code_that_enrols(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "ops@test.example", "--role", "admin"],
        input="Tilted-Lantern-Orchard-93\n",
    )
    assert result.exit_code == 0, result.output
    code = re.search(r"Enrolment code .*: ([0-9A-F-]{19})$", result.output, re.M).group(1)
    client = app.test_client()
    password_step(client, "ops@test.example", "Tilted-Lantern-Orchard-93")
    entered = enrol_step(client, code)
    assert entered.headers["Location"] == "/login/enrol"
    reissued = app.test_cli_runner().invoke(args=["issue-enrolment-code", "ops@test.example"])
    assert re.search(r"works once\): [0-9A-F-]{19}$", reissued.output.strip())


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
    reset = admin.post(f"/admin/users/{officer_id}/reset-two-factor")
    assert reset.status_code == 200
    code = enrolment_code_from(reset.text)  # shown once, to give the user
    assert officer_session.get("/dashboard/").status_code == 302  # its sessions ended
    client = app.test_client()
    assert password_step(client, "officer@test.example").headers["Location"] == "/login/enrol"
    entered = enrol_step(client, code)
    assert entered.headers["Location"] == "/login/enrol"


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


@pytest.fixture
def proxied(tmp_path):
    """The app behind one trusted reverse proxy on 127.0.0.1 (PROXY_HOPS=1)."""
    from conftest import database_url, fresh_schema, seed_reference_data

    from dossiers import create_app

    app = create_app(
        {
            "CONFIG_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
            "PROXY_HOPS": 1,
            "TRUSTED_PROXIES": ("127.0.0.1",),
        }
    )
    with app.app_context():
        fresh_schema()
        seed_reference_data()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def via(app, peer: str, forwarded: str | None = None):
    """A browser whose requests reach the app from `peer`, with the X-Forwarded-For the
    proxy (or a forger) wrote."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = peer
    if forwarded is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
    return client


def addresses_failed(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(LoginFailure.remote_addr)))


def test_behind_the_trusted_proxy_one_client_cannot_lock_out_the_others(proxied):
    guesser = via(proxied, "127.0.0.1", "203.0.113.5")
    for n in range(20):
        password_step(guesser, f"nobody{n}@test.example", "guess")
    assert set(addresses_failed(proxied)) == {"203.0.113.5"}
    assert password_step(guesser, "partner@test.example").status_code == 429  # itself: refused
    colleague = via(proxied, "127.0.0.1", "198.51.100.7")
    assert password_step(colleague, "partner@test.example").headers["Location"] == "/"


def test_a_client_cannot_choose_its_address_through_the_proxy(proxied):
    # The client wrote its own X-Forwarded-For; the proxy appended the real address.
    forger = via(proxied, "127.0.0.1", "198.51.100.7, 203.0.113.5")
    password_step(forger, "nobody@test.example", "guess")
    assert addresses_failed(proxied) == ["203.0.113.5"]


def test_a_forged_header_from_an_untrusted_peer_is_ignored(proxied):
    forger = via(proxied, "192.0.2.9", "198.51.100.7")  # not our proxy
    for n in range(20):
        password_step(forger, f"nobody{n}@test.example", "guess")
    assert set(addresses_failed(proxied)) == {"192.0.2.9"}
    assert (
        password_step(via(proxied, "127.0.0.1", "198.51.100.7"), "partner@test.example").headers[
            "Location"
        ]
        == "/"
    )


def test_a_forwarded_entry_that_is_no_address_leaves_the_peers(proxied):
    for forwarded in ("not-an-address", "x" * 300, ""):
        password_step(via(proxied, "127.0.0.1", forwarded), "nobody@test.example", "guess")
    assert set(addresses_failed(proxied)) == {"127.0.0.1"}


def test_without_a_configured_proxy_the_header_is_never_read(app):
    direct = via(app, "192.0.2.10", "198.51.100.8")
    password_step(direct, "nobody@test.example", "guess")
    assert addresses_failed(app) == ["192.0.2.10"]
