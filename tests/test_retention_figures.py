"""What a retention run must not touch, and what it must leave nowhere: every figure and
drill-down of every year stays as it was on the demo data; the audit trail still
verifies; a purged person's name is in neither the database file nor any export."""

from __future__ import annotations

import datetime as dt
import io
import os
import sqlite3
import zipfile
from pathlib import Path

import pytest
from retention_builders import protected, run_on, snapshot, travel
from sqlalchemy import create_engine, func, make_url, select, text

from dossiers import audit, clock, create_app, figures, purge, report, retention
from dossiers.extensions import db
from dossiers.models import AuditEvent, Dossier, DossierState

NAME = "Wilhelmina Quetzalcoatl"
# The name as typed, its parts, and as the search index keeps them (folded).
NEEDLES = [NAME, "Wilhelmina", "Quetzalcoatl", "wilhelmina", "quetzalcoatl", "Bartholomew"]


@pytest.fixture
def demo_copy(demo_app, tmp_path):
    """An app on a copy of the demo data set: the run must not change the demo the other
    tests read."""
    source = make_url(demo_app.config["SQLALCHEMY_DATABASE_URI"])
    with demo_app.app_context():
        db.session.remove()
        db.engine.dispose()  # PostgreSQL copies a database nobody is connected to
    if source.get_backend_name() == "sqlite":
        target = tmp_path / "demo-copy.db"
        original, copy = sqlite3.connect(source.database or ""), sqlite3.connect(target)
        original.backup(copy)
        original.close()
        copy.close()
        url = f"sqlite:///{target}"
    else:
        name = f"{source.database}_retention"
        admin = create_engine(os.environ["TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"'))
        url = source.set(database=name).render_as_string(hide_password=False)
    app = create_app({"CONFIG_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if source.get_backend_name() != "sqlite":
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def every_figure(years: range) -> dict:
    """Every figure of every year, each breakdown's groups, the dated figures on their
    day, and every drill-down's rows read in full with their names (a name that could not
    be found would fail here): each row's reference, date and context."""
    values: dict = {}
    for year in years:
        values["headline", year] = figures.headline_values(year)
        values["open", year] = figures.open_on(figures.default_day(year))
        for key, figure in figures.FIGURES.items():
            groups = [None]
            if figure.grouped:
                values[key, year] = figures.breakdown_values(key, year)
                groups = sorted(values[key, year], key=str)
            for group in groups:
                rows = report.stream(figure.rows(year, group), figure.unit, with_names=True)
                values["rows", key, year, group] = sorted(
                    (row.reference, row.on, row.context) for row in rows
                )
    return values


def test_the_figures_do_not_move_and_the_audit_trail_verifies(demo_copy):
    with demo_copy.app_context(), travel(dt.date(2040, 1, 1)):
        kept = figures.years_with_data()
        years = range(min(kept) - 1, max(kept) + 2)
        before = every_figure(years)
        dossiers = db.session.scalar(select(func.count()).select_from(Dossier))
        closed = db.session.scalar(select(func.count()).where(Dossier.state == DossierState.CLOSED))

        done = retention.run(clock.today())

        # Most of the demo is due: every closed dossier, its free text, most persons.
        assert done.dossiers == closed and closed > dossiers * 0.9
        assert done.persons > 0 and done.texts > done.dossiers
        db.session.expire_all()
        after = every_figure(years)
        assert after.keys() == before.keys()
        assert [key for key in before if after[key] != before[key]] == []
        assert sum(len(v) for k, v in after.items() if k[0] == "rows") > 10_000

        assert audit.verify().intact
        # One event per batch (500 dossiers), counts only, adding up to the run's.
        runs = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "retention.run")
        ).all()
        assert len(runs) == -(-done.dossiers // retention.BATCH)
        assert {(e.dossier_id, e.object_id) for e in runs} == {(None, None)}
        totals = {key: sum(e.detail_json[key] for e in runs) for key in runs[0].detail_json}
        assert totals == {
            "dossiers": done.dossiers,
            "persons": done.persons,
            "documents": done.documents,
            "texts": done.texts,
        }

        unchanged = snapshot()
        assert retention.run(clock.today()) == purge.Counts()
        assert snapshot() == unchanged
        assert audit.verify().intact


def database_bytes(app) -> bytes:
    """The SQLite database as it is on disk: the file, its write-ahead log and index."""
    path = Path(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database or "")
    parts = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    return b"".join(part.read_bytes() for part in parts if part.exists())


def exports(officer, years) -> bytes:
    """Every export of the statistics an officer can download (names included): each
    figure's rows, each group of each breakdown, as CSV and XLSX; the report itself."""
    with officer.client.application.app_context():
        wanted = [
            (year, key, group)
            for year in years
            for key, figure in figures.FIGURES.items()
            for group in (
                sorted(figures.breakdown_values(key, year), key=str) if figure.grouped else [None]
            )
        ]
    found = []
    for year, key, group in wanted:
        for fmt in ("csv", "xlsx"):
            query = {} if group is None else {"group": group}
            got = officer.get(f"/statistics/{year}/figures/{key}/rows.{fmt}", query_string=query)
            assert got.status_code == 200, (year, key, group)
            found.append(readable(got.data, fmt))
    for year in years:
        for fmt in ("csv", "xlsx"):
            got = officer.get(f"/statistics/{year}/report.{fmt}")
            assert got.status_code == 200
            found.append(readable(got.data, fmt))
    return b"\n".join(found)


def readable(data: bytes, fmt: str) -> bytes:
    if fmt == "csv":
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return b"\n".join(book.read(member) for member in book.namelist())


def test_a_purged_name_is_nowhere_in_the_database_file_or_the_exports(app, login):
    sqlite = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() == "sqlite"
    with app.app_context():
        protected(dt.date(2023, 2, 1), closed=dt.date(2024, 3, 15), name=NAME, everything=True)
        # A dossier kept, so that the exports still have a name to show after the run.
        protected(dt.date(2023, 5, 1), name="Jan Peeters")
    officer = login("officer")
    years = (2023, 2024)
    shown = exports(officer, years)
    # The canary sings before the run: the searches below would find the name.
    assert NAME.encode() in shown and b"Jan Peeters" in shown
    if sqlite:
        assert all(needle.encode() in database_bytes(app) for needle in NEEDLES)

    with app.app_context():
        assert run_on(dt.date(2034, 3, 15)).dossiers == 1
        db.session.commit()

    shown = exports(officer, years)
    assert b"Jan Peeters" in shown
    assert [n for n in NEEDLES if n.encode() in shown] == []
    if sqlite:
        # As a running server leaves it (the run empties the write-ahead log)...
        assert [n for n in NEEDLES if n.encode() in database_bytes(app)] == []
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        # ...and once every connection is closed.
        assert [n for n in NEEDLES if n.encode() in database_bytes(app)] == []
