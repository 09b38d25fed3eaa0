"""A backup restores into a database whose audit trail still verifies."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from builders import dossier_in
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from dossiers import create_app
from dossiers.extensions import db
from dossiers.models import AuditEvent, Dossier, DossierState

POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def restored_app(url):
    return create_app({"CONFIG_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})


def check_restored(app, url, dossiers, events):
    restored = restored_app(url)
    with restored.app_context():
        assert db.session.scalar(select(func.count()).select_from(Dossier)) == dossiers
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    result = restored.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output, result.output
    with restored.app_context():
        db.engine.dispose()


def counts(app):
    with app.app_context():
        for _ in range(3):
            dossier_in(DossierState.CLOSED)
        return (
            db.session.scalar(select(func.count()).select_from(Dossier)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)),
        )


@pytest.mark.skipif(POSTGRES, reason="the SQLite backup; the PostgreSQL run tests pg_dump")
def test_a_sqlite_backup_restores_and_verifies(app, tmp_path):
    dossiers, events = counts(app)
    copy = tmp_path / "backup.db"
    result = app.test_cli_runner().invoke(args=["backup", str(copy)])
    assert result.exit_code == 0, result.output
    restored = tmp_path / "restored.db"
    shutil.copy(copy, restored)  # restoring a SQLite backup is putting the file in place
    check_restored(app, f"sqlite:///{restored}", dossiers, events)


@pytest.mark.skipif(not POSTGRES, reason="needs the PostgreSQL server of the test run")
def test_a_postgresql_backup_restores_and_verifies(app, tmp_path):
    dossiers, events = counts(app)
    dump = tmp_path / "backup.dump"
    result = app.test_cli_runner().invoke(args=["backup", str(dump)])
    assert result.exit_code == 0, result.output
    url = make_url(os.environ["TEST_DATABASE_URL"])
    target = url.set(database=f"{url.database}_restored")
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
    connection = [f"--host={url.host}", f"--port={url.port}", f"--username={url.username}"]
    subprocess.run([bindir / "dropdb", "--if-exists", *connection, target.database], check=True)
    subprocess.run([bindir / "createdb", *connection, target.database], check=True)
    subprocess.run(
        [
            bindir / "pg_restore",
            "--no-owner",
            *connection,
            f"--dbname={target.database}",
            str(dump),
        ],
        check=True,
    )
    try:
        check_restored(app, target.render_as_string(hide_password=False), dossiers, events)
    finally:
        subprocess.run([bindir / "dropdb", "--if-exists", *connection, target.database], check=True)
