"""TOTP secrets are encrypted at rest with keys from the configuration, and rotate."""

from __future__ import annotations

import pytest
from conftest import sign_in
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from dossiers.extensions import db
from dossiers.models import User
from dossiers.sealing import SealingKeyMissing


def stored(app, email: str) -> tuple[str, str]:
    """The column as the database holds it, and the secret as the app reads it."""
    with app.app_context():
        raw = db.session.execute(
            text("SELECT totp_secret FROM user_account WHERE email = :e"), {"e": email}
        ).scalar_one()
        db.session.expire_all()
        plain = db.session.scalars(select(User).where(User.email == email)).one().totp_secret
    return raw, plain


def test_the_database_holds_no_secret_in_clear(app):
    raw, plain = stored(app, "officer@test.example")
    assert plain and len(plain) == 32
    assert plain not in raw
    assert raw.startswith("gAAAA")  # a Fernet token
    sign_in(app.test_client(), "officer")  # and the second factor still works


def test_keys_rotate_without_anyone_enrolling_again(app):
    old = app.config["TOTP_KEYS"]
    new = Fernet.generate_key().decode()
    before_raw, secret = stored(app, "officer@test.example")
    app.config["TOTP_KEYS"] = f"{new},{old}"  # the new key first, the old one still read
    result = app.test_cli_runner().invoke(args=["rotate-totp-keys"])
    assert result.exit_code == 0, result.output
    assert "3 secrets" in result.output  # two officers' and the admin's
    app.config["TOTP_KEYS"] = new  # the old key dropped
    after_raw, after = stored(app, "officer@test.example")
    assert after == secret and after_raw != before_raw
    sign_in(app.test_client(), "officer")


def test_a_lost_key_is_a_clear_error_not_a_silent_reset(app):
    app.config["TOTP_KEYS"] = Fernet.generate_key().decode()
    with pytest.raises(SealingKeyMissing):
        stored(app, "officer@test.example")


def test_a_waiting_account_link_rotates_with_the_keys_and_is_sent_after(app, tmp_path):
    from dossiers import account_links, notifications
    from dossiers.models import Notification

    with app.app_context():
        partner = db.session.scalars(select(User).where(User.email == "partner@test.example")).one()
        admin = db.session.scalars(select(User).where(User.email == "admin@test.example")).one()
        account_links.invite(partner, admin)
        db.session.commit()
    old = app.config["TOTP_KEYS"]
    new = Fernet.generate_key().decode()
    app.config["TOTP_KEYS"] = f"{new},{old}"
    result = app.test_cli_runner().invoke(args=["rotate-totp-keys"])
    assert "4 secrets" in result.output  # the three TOTP secrets and the waiting link
    app.config.update(TOTP_KEYS=new, MAIL_BACKEND="file", MAIL_FOLDER=str(tmp_path))
    with app.app_context():
        assert notifications.send_due() == (1, 0)  # readable with the new key alone
        assert db.session.scalars(select(Notification)).one().secret is None
