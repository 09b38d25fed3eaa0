"""A password an administrator chose is a first password: its holder chooses their own
before any other page. Everyone can change theirs from the navigation."""

import json

import pytest
from builders import dossier_in, org
from conftest import PASSWORD, demo_sign_in, sign_in
from sqlalchemy import select

from dossiers.extensions import db
from dossiers.models import AuditEvent, DossierState, User, UserSession

FIRST = "granite tulip harbour mosaic"  # the administrator's choice
OWN = "quiet lantern over the scheldt"  # the holder's


def account(key: str) -> User:
    return db.session.scalars(select(User).where(User.email == f"{key}@test.example")).one()


@pytest.fixture
def created_by_admin(app, login):
    """created_by_admin("newpartner", "partner"): an account made on the admin pages."""

    def create(key: str, role: str = "partner", password: str = FIRST) -> None:
        with app.app_context():
            zone = org("Police zone").id if role == "partner" else ""
        response = login("admin").post(
            "/admin/users/new",
            data={
                "email": f"{key}@test.example",
                "full_name": "Nora Newcomer",
                "role": role,
                "organisation_id": zone,
                "password": password,
                "active": "y",
            },
        )
        assert response.status_code in (200, 302), response.text
        with app.app_context():
            assert account(key).must_change_password

    return create


def change(session, current=FIRST, new=OWN, confirmation=OWN, url="/password"):
    return session.post(
        url, {"current_password": current, "new_password": new, "confirmation": confirmation}
    )


def test_an_admin_created_account_is_sent_to_choose_its_password_from_any_page(
    app, created_by_admin
):
    with app.app_context():
        reference = dossier_in(DossierState.ASSESSMENT).reference
    created_by_admin("newofficer", "officer")
    # The password, then the second factor (enrolled here), then the password page.
    newcomer = sign_in(app.test_client(), "newofficer", FIRST)
    for url in ("/", "/dashboard/", f"/dossiers/{reference}", "/admin/users", "/measures/"):
        response = newcomer.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/password"), url
    dossier_page = newcomer.get(f"/dossiers/{reference}", follow_redirects=True)
    assert "Choose your password" in dossier_page.text
    assert reference not in dossier_page.text
    # A post elsewhere acts on nothing either.
    posted = newcomer.post("/dossiers/new", {"kind": "threatened_person", "title": "x"})
    assert posted.headers["Location"].startswith("/password")

    done = change(newcomer, url=f"/password?next=/dossiers/{reference}")
    assert done.headers["Location"] == f"/dossiers/{reference}"
    assert newcomer.get(f"/dossiers/{reference}").status_code == 200
    assert newcomer.get("/dashboard/").status_code == 200
    with app.app_context():
        assert not account("newofficer").must_change_password


def test_a_signed_in_first_password_can_still_sign_out(app, created_by_admin):
    created_by_admin("newpartner")
    newcomer = sign_in(app.test_client(), "newpartner", FIRST)
    signed_out = newcomer.post("/logout")
    assert signed_out.headers["Location"] == "/login"


@pytest.mark.parametrize(
    ("current", "new", "confirmation", "field", "message"),
    [
        ("not my password at all", OWN, OWN, "current_password", "This is not your current"),
        (FIRST, "short", "short", "new_password", "Use at least 12 characters."),
        (FIRST, "password1234", "password1234", "new_password", "This password is on the list"),
        (FIRST, "Nora Newcomer 1", "Nora Newcomer 1", "new_password", "This password is too easy"),
        (FIRST, FIRST, FIRST, "new_password", "Choose a new password, not your current one."),
        (FIRST, OWN, OWN + " too", "confirmation", "The two new passwords are not the same."),
    ],
)
def test_a_refused_change_says_why_next_to_its_field_and_changes_nothing(
    app, created_by_admin, current, new, confirmation, field, message
):
    created_by_admin("newpartner")
    newcomer = sign_in(app.test_client(), "newpartner", FIRST)
    with app.app_context():
        before = account("newpartner").password_hash
    response = change(newcomer, current, new, confirmation)
    assert response.status_code == 200
    assert f'id="{field}-error">{message}' in response.text
    assert 'aria-invalid="true"' in response.text
    with app.app_context():
        user = account("newpartner")
        assert user.password_hash == before and user.must_change_password
    assert newcomer.get("/measures/").headers["Location"].startswith("/password")


def test_a_wrong_current_password_counts_as_a_wrong_password_and_is_audited(app, created_by_admin):
    created_by_admin("newpartner")
    newcomer = sign_in(app.test_client(), "newpartner", FIRST)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        change(newcomer, current="a wrong guess of it")
    # Locked like the sign-in: even the right password is refused now.
    locked = change(newcomer)
    assert "Too many failed sign-ins" in locked.text
    with app.app_context():
        assert account("newpartner").must_change_password
        refused = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.password_change_failed")
        ).all()
        assert len(refused) == app.config["LOGIN_MAX_FAILURES"]
        assert {e.outcome for e in refused} == {"refused"}
        assert not any("wrong guess" in e.detail for e in refused)


def test_after_the_change_the_new_password_works_the_old_one_not_and_other_sessions_end(
    app, created_by_admin
):
    created_by_admin("newpartner")
    elsewhere = sign_in(app.test_client(), "newpartner", FIRST)
    newcomer = sign_in(app.test_client(), "newpartner", FIRST)
    assert change(newcomer).headers["Location"] == "/"
    assert newcomer.get("/measures/").status_code == 200
    assert elsewhere.get("/measures/").headers["Location"].startswith("/login")
    with app.app_context():
        user = account("newpartner")
        assert not user.must_change_password
        live = db.session.scalars(
            select(UserSession).where(
                UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
            )
        ).all()
        assert len(live) == 1
    page = app.test_client()
    assert sign_in(page, "newpartner", OWN).get("/measures/").status_code == 200
    old = app.test_client()
    token = old.get("/login").text
    from conftest import csrf_from

    refused = old.post(
        "/login",
        data={
            "email": "newpartner@test.example",
            "password": FIRST,
            "csrf_token": csrf_from(token),
        },
    )
    assert "Wrong email or password." in refused.text


def test_the_change_is_audited_without_the_password(app, created_by_admin):
    created_by_admin("newpartner")
    change(sign_in(app.test_client(), "newpartner", FIRST))
    with app.app_context():
        user = account("newpartner")
        created = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.create")
        ).one()
        assert json.loads(created.detail)["must_change_password"] is True
        changed = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.password_change")
        ).one()
        assert changed.actor_id == user.id and changed.object_id == user.id
        assert changed.outcome == "ok"
        assert json.loads(changed.detail) == {"first_password": True}
        for event in db.session.scalars(select(AuditEvent)):
            assert FIRST not in event.detail and OWN not in event.detail


def test_an_account_created_on_the_command_line_is_not_asked(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "cli@test.example", "--role", "analyst"],
        input=f"{FIRST}\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert not account("cli").must_change_password
    assert sign_in(app.test_client(), "cli", FIRST).get("/statistics/").status_code == 200


def test_the_demo_accounts_are_not_asked(demo_app):
    partner = demo_sign_in(demo_app, "partner")
    assert partner.get("/measures/").status_code == 200


def test_a_password_an_admin_sets_again_is_a_first_password_again(app, login, created_by_admin):
    created_by_admin("newpartner")
    change(sign_in(app.test_client(), "newpartner", FIRST))
    newcomer = sign_in(app.test_client(), "newpartner", OWN)
    with app.app_context():
        user_id = account("newpartner").id
        zone = org("Police zone").id
    reset = login("admin").post(
        f"/admin/users/{user_id}",
        data={
            "email": "newpartner@test.example",
            "full_name": "Nora Newcomer",
            "role": "partner",
            "organisation_id": zone,
            "password": "another granite tulip harbour",
            "active": "y",
        },
    )
    assert reset.status_code == 302
    assert newcomer.get("/measures/").headers["Location"].startswith("/login")
    with app.app_context():
        assert account("newpartner").must_change_password
    again = sign_in(app.test_client(), "newpartner", "another granite tulip harbour")
    assert again.get("/measures/").headers["Location"].startswith("/password")


def test_an_admin_who_sets_their_own_password_is_not_asked(app, login):
    admin = login("admin")
    with app.app_context():
        user_id = account("admin").id
    saved = admin.post(
        f"/admin/users/{user_id}",
        data={
            "email": "admin@test.example",
            "full_name": "Admin",
            "role": "admin",
            "organisation_id": "",
            "password": OWN,
            "active": "y",
        },
    )
    assert saved.status_code == 302
    with app.app_context():
        assert not account("admin").must_change_password


def test_a_weak_password_on_the_admin_form_is_refused_next_to_the_password(app, login):
    refused = login("admin").post(
        "/admin/users/new",
        data={
            "email": "weak@test.example",
            "full_name": "Weak",
            "role": "analyst",
            "organisation_id": "",
            "password": "password1234",
            "active": "y",
        },
    )
    assert 'id="password-error">This password is' in refused.text


def test_everyone_can_change_their_password_from_the_navigation(app, login):
    analyst = login("analyst")
    home = analyst.get("/", follow_redirects=True)
    assert 'href="/password"' in home.text and "Change password" in home.text
    page = analyst.get("/password")
    assert page.status_code == 200 and "Choose your password" not in page.text
    done = change(analyst, current=PASSWORD)
    assert done.headers["Location"] == "/"
    with app.app_context():
        user = account("analyst")
        assert not user.must_change_password
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.password_change")
        ).one()
        assert json.loads(event.detail) == {"first_password": False}
    assert analyst.get("/statistics/").status_code == 200
