"""Account mails: an administrator invites a user, who chooses their own password through
a single-use link (and then sets up the second factor); a forgotten password is reset
the same way, with the same answer for any address; a changed password and a reset
second factor are told to the account's holder. Mails go to a real SMTP server."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import time_machine
from builders import org
from conftest import PASSWORD, csrf_from, sign_in, totp_code
from sqlalchemy import select
from test_notifications import inbox  # noqa: F401 - the SMTP server fixture

from dossiers import notifications
from dossiers.clock import now_utc
from dossiers.extensions import db
from dossiers.models import AccountToken, AuditEvent, Notification, User, UserSession

OWN = "quiet lantern over the scheldt"
LINK = re.compile(r"https://dossiers\.nccn\.example(/account/link\?token=[A-Za-z0-9_-]+)")


def account(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def invite(app, login, email: str, role: str = "partner"):
    with app.app_context():
        zone = org("Police zone").id if role == "partner" else ""
    return login("admin").post(
        "/admin/users/new",
        data={
            "email": email,
            "full_name": "Nora Newcomer",
            "role": role,
            "organisation_id": zone,
            "password": "",
            "active": "y",
        },
    )


def delivered_link(app, inbox, to: str) -> str:  # noqa: F811 - the fixture's value
    """Send what is due and return the path of the link in the last mail to `to`."""
    with app.app_context():
        notifications.send_due()
    [mail] = [mail for rcpt, mail in inbox.mails if rcpt == [to]][-1:]
    match = LINK.search(mail.get_content())
    assert match, mail.get_content()
    return match.group(1)


def choose(client, path: str, new: str = OWN, confirmation: str | None = None):
    opened = client.get(path)
    assert opened.status_code == 302 and opened.headers["Location"] == "/account/password"
    form = client.get("/account/password")
    assert form.status_code == 200, form.text
    return client.post(
        "/account/password",
        data={
            "new_password": new,
            "confirmation": new if confirmation is None else confirmation,
            "csrf_token": csrf_from(form.text),
        },
    )


def forgotten(client, email: str):
    page = client.get("/password/forgotten")
    return client.post(
        "/password/forgotten", data={"email": email, "csrf_token": csrf_from(page.text)}
    )


def test_an_invited_partner_chooses_a_password_with_a_link_that_works_once(
    app,
    login,
    inbox,  # noqa: F811
):
    created = invite(app, login, "nora@zone.example")
    assert created.status_code == 302
    link = delivered_link(app, inbox, "nora@zone.example")
    rcpt, mail = inbox.mails[-1]
    # In the language of the partner's service (Dutch), as they have not chosen one yet.
    assert "Kies uw wachtwoord" in mail.get_content()
    with app.app_context():
        row = db.session.scalars(select(Notification)).one()
        token = link.rsplit("=", 1)[1]
        # Once sent, the token is in the mail alone: the database has only its hash.
        assert row.secret is None and token not in row.link
        assert db.session.scalars(select(AccountToken)).one().token_hash != token
        nora = account("nora@zone.example")
        assert not nora.must_change_password

    client = app.test_client()
    # A weak password is refused next to its field, and the link still works.
    refused = choose(client, link, new="password123456")
    assert refused.status_code == 200 and "too easy to guess" in refused.text
    mismatch = choose(client, link, confirmation="something else entirely")
    assert "not the same" in mismatch.text
    chosen = choose(client, link)
    assert chosen.status_code == 302 and chosen.headers["Location"] == "/login"

    # Used: the link is gone, and the new password signs in.
    again = app.test_client().get(link)
    assert again.status_code == 410 and "cannot be used" in again.text
    assert sign_in(app.test_client(), "nora", OWN, domain="zone.example")
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEvent))]
        assert {"user.create", "user.invite", "mail.sent", "user.password_set"} <= set(actions)
        trail = " ".join(e.detail for e in db.session.scalars(select(AuditEvent)))
        assert token not in trail and OWN not in trail


def test_an_invited_officer_sets_up_the_second_factor_with_the_link_not_a_code(
    app,
    login,
    inbox,  # noqa: F811
):
    invite(app, login, "olivier@nccn.example", role="officer")
    link = delivered_link(app, inbox, "olivier@nccn.example")
    client = app.test_client()
    chosen = choose(client, link)
    # Straight to the authenticator: no enrolment code asked for.
    assert chosen.headers["Location"] == "/login/enrol"
    page = client.get("/login/enrol")
    assert "otpauth" in page.text or "data:image/svg" in page.text
    with app.app_context():
        officer = account("olivier@nccn.example")
        secret, step = officer.totp_secret, officer.totp_last_step
    done = client.post(
        "/login/enrol", data={"code": totp_code(secret, step), "csrf_token": csrf_from(page.text)}
    )
    assert done.status_code == 200 and "recovery" in done.text.lower()
    assert client.get("/dashboard/").status_code == 200
    with app.app_context():
        assert account("olivier@nccn.example").totp_confirmed_at is not None


def test_a_link_expires_and_a_newer_one_replaces_it(app, login, inbox):  # noqa: F811
    invite(app, login, "nora@zone.example")
    first = delivered_link(app, inbox, "nora@zone.example")
    with app.app_context():
        user_id = account("nora@zone.example").id
    login("admin").post(f"/admin/users/{user_id}/invite")
    second = delivered_link(app, inbox, "nora@zone.example")
    assert first != second
    assert app.test_client().get(first).status_code == 410
    with time_machine.travel(now_utc() + dt.timedelta(hours=73), tick=False):
        assert app.test_client().get(second).status_code == 410
    with time_machine.travel(now_utc() + dt.timedelta(hours=71), tick=False):
        assert app.test_client().get(second).status_code == 302


def test_a_link_taken_into_a_session_stops_working_when_it_expires_there(
    app,
    inbox,  # noqa: F811
):
    forgotten(app.test_client(), "partner@test.example")
    link = delivered_link(app, inbox, "partner@test.example")
    client = app.test_client()
    client.get(link)
    form = client.get("/account/password")
    with time_machine.travel(now_utc() + dt.timedelta(hours=2, minutes=30), tick=False):
        late = client.post(
            "/account/password",
            data={"new_password": OWN, "confirmation": OWN, "csrf_token": csrf_from(form.text)},
        )
    assert late.status_code == 410
    with app.app_context():
        assert db.session.scalars(select(AccountToken)).one().used_at is None


def test_a_signed_in_browser_cannot_use_a_link(app, login, inbox):  # noqa: F811
    invite(app, login, "nora@zone.example")
    link = delivered_link(app, inbox, "nora@zone.example")
    officer = login("officer")
    assert officer.get(link).status_code == 409
    # The link is untouched: its owner can still use it.
    assert choose(app.test_client(), link).status_code == 302


def test_a_forgotten_password_gets_the_same_answer_for_any_address(app):
    known, unknown = (
        forgotten(app.test_client(), "partner@test.example"),
        forgotten(app.test_client(), "nobody@test.example"),
    )
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"] == "/login"
    client_a, client_b = app.test_client(), app.test_client()
    forgotten(client_a, "PARTNER@test.example ")
    forgotten(client_b, "someone@else.example")
    assert client_a.get("/login").text.count("on its way") == 1
    assert client_b.get("/login").text.count("on its way") == 1
    with app.app_context():
        rows = list(db.session.scalars(select(Notification)))
        # One mail: to the known account, once (the second ask came within five minutes).
        assert [(r.kind, r.address) for r in rows] == [
            ("account.password_reset", "partner@test.example")
        ]


def test_a_disabled_account_gets_no_reset_mail(app):
    with app.app_context():
        account("partner@test.example").active = False
        db.session.commit()
    forgotten(app.test_client(), "partner@test.example")
    with app.app_context():
        assert db.session.scalars(select(Notification)).all() == []


def test_a_reset_keeps_the_second_factor_ends_the_sessions_and_is_told(
    app,
    login,
    inbox,  # noqa: F811
):
    open_session = login("officer")
    forgotten(app.test_client(), "officer@test.example")
    link = delivered_link(app, inbox, "officer@test.example")
    assert choose(app.test_client(), link).headers["Location"] == "/login"
    # Every session of the account ended; the old password no longer works.
    assert open_session.get("/dashboard/").status_code == 302
    with app.app_context():
        sessions = db.session.scalars(select(UserSession)).all()
        assert all(s.revoked_at for s in sessions if s.user.email == "officer@test.example")
    page = app.test_client().get("/login")
    old = app.test_client()
    old.get("/login")
    refused = old.post(
        "/login",
        data={
            "email": "officer@test.example",
            "password": PASSWORD,
            "csrf_token": csrf_from(old.get("/login").text),
        },
    )
    assert "Wrong email or password" in refused.text
    # The new one asks for the authenticator still: a reset is not a way around it.
    client = app.test_client()
    page = client.get("/login")
    step = client.post(
        "/login",
        data={"email": "officer@test.example", "password": OWN, "csrf_token": csrf_from(page.text)},
    )
    assert step.headers["Location"] == "/login/totp"
    # And its holder is told.
    with app.app_context():
        notifications.send_due()
    subjects = [m["Subject"] for rcpt, m in inbox.mails if rcpt == ["officer@test.example"]]
    assert subjects[-1] == "Uw wachtwoord is gewijzigd"  # the language of the officer's service


def test_a_reset_link_lasts_two_hours(app, inbox):  # noqa: F811
    forgotten(app.test_client(), "partner@test.example")
    link = delivered_link(app, inbox, "partner@test.example")
    with time_machine.travel(now_utc() + dt.timedelta(hours=2, minutes=1), tick=False):
        assert app.test_client().get(link).status_code == 410


def test_a_changed_password_and_a_reset_second_factor_are_told_in_the_holders_language(
    app,
    login,
    inbox,  # noqa: F811
):
    with app.app_context():
        account("officer@test.example").language = "fr"
        db.session.commit()
        officer_id = account("officer@test.example").id
    admin = login("admin")
    admin.post(f"/admin/users/{officer_id}/reset-two-factor")
    partner = login("partner")
    partner.post(
        "/password",
        {"current_password": PASSWORD, "new_password": OWN, "confirmation": OWN},
    )
    with app.app_context():
        notifications.send_due()
    mails = {rcpt[0]: mail for rcpt, mail in inbox.mails}
    assert mails["officer@test.example"]["Subject"] == (
        "Votre connexion à deux facteurs a été réinitialisée"
    )
    assert mails["partner@test.example"]["Subject"] == "Uw wachtwoord is gewijzigd"
    for mail in mails.values():
        assert "/login" in mail.get_content()


def test_an_invitation_in_the_outbox_keeps_its_token_sealed(app, login):
    invite(app, login, "nora@zone.example")
    with app.app_context():
        raw = db.session.execute(db.text("SELECT secret, link FROM notification")).one()
        token_row = db.session.scalars(select(AccountToken)).one()
        row = db.session.scalars(select(Notification)).one()
        assert row.secret and raw.secret != row.secret  # stored encrypted
        assert raw.link == "/account/link?token="
        assert token_row.token_hash != row.secret
        detail = json.loads(db.session.scalars(select(AuditEvent.detail)).all()[-1])
        assert row.secret not in json.dumps(detail)


def test_a_link_to_an_address_since_corrected_no_longer_opens(app, login, inbox):  # noqa: F811
    invite(app, login, "nora@zone-typo.example")
    link = delivered_link(app, inbox, "nora@zone-typo.example")
    with app.app_context():
        nora = account("nora@zone-typo.example")
        user_id, zone_id = nora.id, nora.organisation_id
    login("admin").post(
        f"/admin/users/{user_id}",
        {
            "email": "nora@zone.example",
            "full_name": "Nora Newcomer",
            "role": "partner",
            "organisation_id": zone_id,
            "active": "y",
        },
    )
    assert app.test_client().get(link).status_code == 410


def test_only_an_account_nobody_has_used_can_be_invited(app, login, inbox):  # noqa: F811
    """An invitation also stands for the enrolment code: it must not reopen an account
    that had an owner, e.g. an officer whose second factor was just reset."""
    admin = login("admin")
    login("officer")  # the officer has signed in
    with app.app_context():
        officer_id = account("officer@test.example").id
    admin.post(f"/admin/users/{officer_id}/reset-two-factor")
    refused = admin.post(f"/admin/users/{officer_id}/invite", follow_redirects=True)
    assert "an invitation is for a new account" in refused.text
    with app.app_context():
        kinds = [row.kind for row in db.session.scalars(select(Notification))]
        assert "account.invitation" not in kinds
    # And a link issued before its holder signed in stops standing for the account after.
    invite(app, login, "nora@zone.example")
    link = delivered_link(app, inbox, "nora@zone.example")
    with app.app_context():
        nora = account("nora@zone.example")
        nora.password_hash = account("partner@test.example").password_hash
        db.session.commit()
    sign_in(app.test_client(), "nora", PASSWORD, domain="zone.example")
    assert app.test_client().get(link).status_code == 410


def test_a_new_password_of_any_kind_ends_the_links_waiting(app, login, inbox):  # noqa: F811
    forgotten(app.test_client(), "partner@test.example")
    link = delivered_link(app, inbox, "partner@test.example")
    login("partner").post(
        "/password", {"current_password": PASSWORD, "new_password": OWN, "confirmation": OWN}
    )
    assert app.test_client().get(link).status_code == 410


def test_the_forgotten_password_answer_takes_the_same_time_for_any_address(app):
    app.config["RESET_ANSWER_SECONDS"] = 0.3
    for email in ("partner@test.example", "nobody@test.example"):
        client = app.test_client()
        page = client.get("/password/forgotten")
        started = time.perf_counter()
        client.post(
            "/password/forgotten", data={"email": email, "csrf_token": csrf_from(page.text)}
        )
        assert time.perf_counter() - started >= 0.3


def test_a_mail_that_cannot_be_written_does_not_hold_up_the_others(app, inbox):  # noqa: F811
    with app.app_context():
        for address in ("first@zone.example", "second@zone.example"):
            notifications.queue(
                "measure.decided", address=address, language="nl", reference="TP-2026-0001"
            )
        db.session.commit()
        # The first one broken: a kind this version no longer knows.
        db.session.execute(
            db.text("UPDATE notification SET kind = 'no.such.kind' WHERE address LIKE 'first%'")
        )
        db.session.commit()
        assert notifications.send_due() == (1, 1)
        broken = db.session.scalars(
            select(Notification).where(Notification.address == "first@zone.example")
        ).one()
        assert broken.status == "pending" and broken.next_attempt_at > now_utc()
        assert "KeyError" in broken.last_error
    assert [rcpt for rcpt, mail in inbox.mails] == [["second@zone.example"]]
