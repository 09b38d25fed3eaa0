"""Fixtures in the flaskr style: app, client, users, and a signed-in client helper.

The database is a real SQLite file per test, or the PostgreSQL server named by
TEST_DATABASE_URL (scripts/with-postgres starts one).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select, text

from dossiers import create_app
from dossiers.auth import TOTP_ROLES, hash_password, new_enrolment_code
from dossiers.clock import now_utc, today
from dossiers.extensions import db
from dossiers.models import (
    AuditEvent,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from dossiers.reference import standard_measure_types

PASSWORD = "correct horse battery staple"
PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: argon2 is slow on purpose

ORGANISATIONS = {
    "nccn": ("NCCN", OrganisationKind.CRISIS_CENTRE),
    "zone": ("Police zone Brussels-Capital-Ixelles", OrganisationKind.LOCAL_POLICE),
    "dap": ("Federal Police DAP", OrganisationKind.FEDERAL_POLICE),
}
USERS = {
    "officer": (Role.OFFICER, "nccn"),
    "officer2": (Role.OFFICER, "nccn"),
    "partner": (Role.PARTNER, "zone"),
    "dap": (Role.PARTNER, "dap"),
    "analyst": (Role.ANALYST, "nccn"),
    "admin": (Role.ADMIN, None),
}


def database_url(tmp_path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def app(tmp_path) -> Iterator[Flask]:
    app = create_app({"CONFIG_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url(tmp_path)})
    with app.app_context():
        fresh_schema()
        seed_reference_data()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        forget_migrations()
        db.engine.dispose()


def forget_migrations() -> None:
    """Alembic's own table is not in the models: drop it too, or a shared PostgreSQL
    database would remember a revision stamped by an earlier test."""
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def fresh_schema() -> None:
    db.drop_all()
    forget_migrations()
    db.create_all()


def seed_reference_data() -> None:
    orgs = {key: Organisation(name=name, kind=kind) for key, (name, kind) in ORGANISATIONS.items()}
    db.session.add_all(orgs.values())
    # Three types of the standard list, named in the three languages as an admin adds them.
    db.session.add_all(
        t
        for t in standard_measure_types()
        if t.code in ("contact_point", "patrols", "close_protection")
    )
    db.session.flush()
    for key, (role, org) in USERS.items():
        db.session.add(
            User(
                email=f"{key}@test.example",
                full_name=key.capitalize(),
                role=role,
                password_hash=PASSWORD_HASH,
                organisation_id=orgs[org].id if org else None,
                # Officers and admins sign in with a second factor, set up already.
                totp_secret=pyotp.random_base32() if role in TOTP_ROLES else None,
                totp_confirmed_at=now_utc() if role in TOTP_ROLES else None,
            )
        )
    db.session.commit()


def _demo_database_url(tmp_path_factory) -> str:
    """A database of its own for the demo data: on PostgreSQL a sibling database, so that
    the per-test fixture's drop_all never touches it."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    from sqlalchemy import create_engine, make_url, text

    main = make_url(url)
    name = f"{main.database}_demo"
    admin = create_engine(main, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return main.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory) -> Iterator[Flask]:
    """An app on the demo data set, seeded once for the whole run through the CLI."""
    app = create_app(
        {
            "CONFIG_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": _demo_database_url(tmp_path_factory),
            # Shared by every test that signs in to the demo, all from one address: the
            # per-address limit is tested on apps of their own (test_signin).
            "LOGIN_RATE_LIMIT": "10000 per minute",
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        # Where the seeding ended: the later tests add events of their own.
        app.config["SEEDED_AT"] = now_utc()
        app.config["SEEDED_EVENTS"] = db.session.scalar(select(func.max(AuditEvent.sequence)))
    app.config["DEMO_PASSWORDS"] = dict(
        re.findall(r"^\s+(\S+@demo\.example)\s+(\S+)$", result.output, re.M)
    )
    app.config["SEED_OUTPUT"] = result.output
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def demo_sign_in(app: Flask, who: str) -> Session:
    password = app.config["DEMO_PASSWORDS"][f"{who}@demo.example"]
    return sign_in(app.test_client(), who, password, domain="demo.example")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


@dataclass
class Session:
    """A test client signed in as one user, posting with its CSRF token."""

    client: FlaskClient
    token: str

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict | None = None, **kwargs):
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kwargs)


def totp_code(secret: str, last_step: int) -> str:
    """The earliest code the server still accepts (a code is good once)."""
    totp = pyotp.TOTP(secret)
    step = int(time.time()) // totp.interval
    # Never the previous step: the server's window may move on before the code arrives.
    for candidate in (step, step + 1):
        if candidate > last_step:
            return totp.at(candidate * totp.interval)
    raise AssertionError("no fresh code: second_step forgets the used ones first")


def forget_used_codes(user: User) -> None:
    """A third sign-in of one user within 30 seconds finds both codes the server accepts
    used: a person would wait for the next one; the test forgets the ones used instead,
    so that the suite does not sleep (test_signin proves a used code is refused)."""
    step = int(time.time()) // pyotp.TOTP(user.totp_secret or "").interval
    if user.totp_last_step >= step + 1:
        user.totp_last_step = step - 2
        db.session.commit()


def second_step(client: FlaskClient, response, email: str):
    """Pass the second factor when the sign-in asks for one; enrol when it must, with an
    enrolment code issued as an administrator would."""
    location = response.headers.get("Location", "")
    if response.status_code != 302 or not location.startswith("/login/"):
        return response
    page = client.get(location)
    if location == "/login/enrol":
        with client.application.app_context():
            user = db.session.scalars(db.select(User).where(User.email == email)).one()
            code = new_enrolment_code(user)
            db.session.commit()
        entered = client.post(location, data={"code": code, "csrf_token": csrf_from(page.text)})
        assert entered.headers.get("Location") == location, entered.text
        page = client.get(location)
    with client.application.app_context():
        user = db.session.scalars(db.select(User).where(User.email == email)).one()
        forget_used_codes(user)
        secret = user.totp_secret
        last_step = user.totp_last_step
    code = totp_code(secret, last_step)
    return client.post(location, data={"code": code, "csrf_token": csrf_from(page.text)})


def sign_in(
    client: FlaskClient, key: str, password: str = PASSWORD, domain: str = "test.example"
) -> Session:
    email = f"{key}@{domain}"
    page = client.get("/login")
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_from(page.text)}
    )
    response = second_step(client, response, email)
    assert response.status_code in (200, 302), response.text
    home = client.get("/", follow_redirects=True)
    assert home.status_code == 200, home.text
    return Session(client, csrf_from(home.text))


@pytest.fixture
def login(app: Flask):
    """login("officer") returns a fresh client signed in as that user."""

    def login(key: str) -> Session:
        return sign_in(app.test_client(), key)

    return login


@pytest.fixture
def user(app: Flask):
    def user(key: str) -> User:
        return db.session.scalars(db.select(User).where(User.email == f"{key}@test.example")).one()

    return user


@pytest.fixture
def count_queries(app: Flask):
    """Count the SQL statements run inside the block: `with count_queries() as n: …; n()`."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        statements: list[str] = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield lambda: len(statements)
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting


TODAY = today()


def plan_of(app, login, role, url, marker):
    """The query plan of the statement holding `marker` that the page ran."""
    statement, parameters = statement_of(app, login, role, url, marker)
    with app.app_context():
        engine = db.engine
        connection = db.session.connection()
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plan = " ".join(str(row) for row in rows)
        else:
            # A few rows make a scan and a sort cheaper; forbid them (as far as PostgreSQL
            # can) to see whether the index serves the rows in order.
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                connection.exec_driver_sql(f"SET LOCAL {setting} = off")
            rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            plan = " ".join(row[0] for row in rows)
        db.session.rollback()
    return plan


def statement_of(app, login, role, url, marker):
    """The first statement holding `marker` that the page ran, with its parameters."""
    with app.app_context():
        engine = db.engine
    sent = []

    def keep(conn, cursor, statement, parameters, context, many):
        if marker in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        assert login(role).get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert sent, f"{url} ran no statement with {marker}"
    return sent[0]
