"""create-user and the demo data set."""

import json

import pytest
from sqlalchemy import func, select

from dossiers import create_app, figures
from dossiers.extensions import db
from dossiers.models import AuditEvent, Dossier, Measure, Organisation, Person, Transition, User


def test_create_user_reads_the_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "New@Test.example",
            "--role",
            "partner",
            "--organisation",
            "Federal Police DAP",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "a long enough password" not in result.output
    client = app.test_client()
    from conftest import csrf_from

    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={
            "email": "new@test.example",
            "password": "a long enough password",
            "csrf_token": token,
        },
    )
    assert response.headers["Location"].endswith("/")


@pytest.mark.parametrize(
    "args,message",
    [
        (["create-user", "x@test.example", "--role", "partner"], "belongs to an organisation"),
        (
            ["create-user", "x@test.example", "--role", "partner", "--organisation", "Nowhere"],
            "no organisation",
        ),
        (["create-user", "officer@test.example", "--role", "officer"], "already uses this email"),
    ],
)
def test_create_user_refusals(app, args, message):
    result = app.test_cli_runner().invoke(args=args, input="a long enough password\n")
    assert result.exit_code != 0 and message in result.output


def test_create_user_refuses_a_short_password(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "x@test.example", "--role", "admin"], input="short\n"
    )
    assert result.exit_code != 0 and "12 characters" in result.output


TABLES = (Organisation, User, Dossier, Person, Measure, Transition, AuditEvent)


def counts(app):
    with app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in TABLES}


def test_seed_demo_prints_one_account_per_role_once(demo_app):
    for email in (
        "officer@demo.example",
        "partner@demo.example",
        "analyst@demo.example",
        "admin@demo.example",
    ):
        assert email in demo_app.config["SEED_OUTPUT"]
    with demo_app.app_context():
        names = set(db.session.scalars(select(Organisation.name)))
    assert {"NCCN", "Federal Police DAP", "Police zone Brussels-Capital-Ixelles"} <= names
    assert len([n for n in names if n.startswith("Police zone")]) >= 3


def test_seed_demo_twice_changes_nothing(demo_app):
    before = counts(demo_app)
    result = demo_app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0
    assert "already there" in result.output and "@demo.example" not in result.output
    assert counts(demo_app) == before


PUBLISHED = {
    2022: {
        "dossiers": 64,
        "persons": 85,
        "european_summits": 6,
        "nato_summits": 1,
        "attendances": 1550,
        "heads": 305,
    },
    2023: {"dossiers": 75, "persons": 124, "councils": 27, "european_summits": 6},
    2024: {"dossiers": 67, "persons": 101, "councils": 75, "european_summits": 7},
}


@pytest.mark.parametrize("year", sorted(PUBLISHED))
def test_demo_reproduces_the_published_figures(demo_app, year):
    want = PUBLISHED[year]
    with demo_app.app_context():
        got = figures.headline(year)
    tp, vip = got["threatened_persons"], got["vip_protection"]
    assert (tp["dossiers_with_measures"], tp["persons"]) == (want["dossiers"], want["persons"])
    assert vip["european_summits"] == want["european_summits"]
    if "councils" in want:
        assert vip["ministerial_councils"] == want["councils"]
    if year == 2022:
        assert vip["nato_summits"] == 1
        assert (vip["protected_attendances"], vip["heads_of_state_or_government"]) == (1550, 305)
    if year == 2023:
        assert (
            vip["protected_attendances"] > 1500
            and 290 <= vip["heads_of_state_or_government"] <= 310
        )
    if year == 2024:
        assert vip["protected_attendances"] > 1800


def test_stats_command_prints_the_fixed_json(demo_app):
    result = demo_app.test_cli_runner().invoke(args=["stats", "2023", "--format", "json"])
    printed = json.loads(result.output)
    assert printed["year"] == 2023
    assert printed["threatened_persons"] == {"dossiers_with_measures": 75, "persons": 124}
    assert printed["vip_protection"]["ministerial_councils"] == 27
    csv_result = demo_app.test_cli_runner().invoke(args=["stats", "2023", "--format", "csv"])
    assert "2023,threatened_persons,persons,124" in csv_result.output


def test_demo_has_work_for_every_role(demo_app):
    with demo_app.app_context():
        from dossiers.models import DossierPerson

        shared = db.session.scalar(
            select(func.count()).select_from(
                select(DossierPerson.person_id)
                .group_by(DossierPerson.person_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        assert shared > 0  # people threatened again, and VIPs at several events
        zone = db.session.scalars(
            select(Organisation).where(Organisation.name == "Police zone Brussels-Capital-Ixelles")
        ).one()
        assert (
            db.session.scalar(
                select(func.count()).select_from(Measure).where(Measure.organisation_id == zone.id)
            )
            > 0
        )


def test_demo_plans_its_events_as_delegations_with_the_standard_sets(demo_app):
    from dossiers import clock, events
    from dossiers.models import DossierState, Event, StandardMeasure

    with demo_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StandardMeasure)) > 0
        summit = db.session.scalars(
            select(Event).where(Event.start_date > clock.today())
        ).one()  # the summit in preparation
        plan = events.overview(summit)
        states = {d.state for d in plan.delegations}
        assert {
            DossierState.MEASURES_DECIDED,
            DossierState.ASSESSMENT,
            DossierState.INTAKE,
        } <= states
        for delegation in plan.delegations:
            assert len({p.country for p in delegation.persons}) == 1  # one country each
        # Still being planned: its coverage shows who is not protected yet, first.
        assert 0 < len(plan.uncovered) < len(plan.vips)
        assert not plan.vips[0].covered
        # The heads of the decided delegations have their category's standard measures.
        decided = [d for d in plan.delegations if d.state is DossierState.MEASURES_DECIDED]
        heads = [(d, p) for d in decided for p in d.persons if p.category.value == "head_of_state"]
        assert heads
        for delegation, head in heads:
            own = {m.measure_type.code for m in delegation.measures if m.person_id == head.id}
            assert own == {"close_protection", "escort"}
        past = db.session.scalars(
            select(Dossier).where(Dossier.event_id.is_not(None), Dossier.event_id != summit.id)
        ).all()
        assert all(len({p.country for p in d.persons}) == 1 for d in past)


def test_seed_demo_refuses_production(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/prod.db")
    app = create_app({"CONFIG_NAME": "production"})
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "production" in result.output


def test_seed_scale_writes_a_verifiable_data_set_and_refuses_twice(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["seed-scale", "--factor", "0.5", "--years", "2", "--last-year", "2024"]
    )
    assert result.exit_code == 0, result.output
    # Twenty events a year, and the summit ahead that `make bench` opens.
    assert "Wrote 80 threatened-person dossiers and 41 events." in result.output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    with app.app_context():
        from dossiers import events
        from dossiers.models import Event

        published = figures.headline(2024)
        assert published["threatened_persons"]["dossiers_with_measures"] == 40
        assert published["vip_protection"]["protected_attendances"] > 0
        summit = db.session.scalars(select(Event).where(Event.name == "Benchmark summit")).one()
        plan = events.overview(summit)
        assert (len(plan.delegations), len(plan.vips)) == (30, 300)
        assert sum(len(d.measures) for d in plan.delegations) == 600
        assert not plan.uncovered
        for delegation in db.session.scalars(select(Dossier).where(Dossier.event_id.is_not(None))):
            assert len({p.country for p in delegation.persons}) == 1  # a delegation per country
    again = runner.invoke(args=["seed-scale", "--factor", "0.5", "--years", "1"])
    assert again.exit_code != 0 and "already has dossiers" in again.output


def test_seed_scale_refuses_production(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/prod.db")
    result = create_app({"CONFIG_NAME": "production"}).test_cli_runner().invoke(args=["seed-scale"])
    assert result.exit_code != 0 and "production" in result.output


def test_export_rows_writes_every_row_of_a_figure(demo_app, tmp_path):
    import csv as csv_module

    from openpyxl import load_workbook

    runner = demo_app.test_cli_runner()
    target = tmp_path / "persons.csv"
    result = runner.invoke(args=["export-rows", "2023", "tp_persons", str(target)])
    assert result.exit_code == 0, result.output
    assert "124 rows written" in result.output
    with target.open(encoding="utf-8") as written:
        lines = list(csv_module.reader(written))
    assert lines[0] == ["reference", "date"] and len(lines) == 125
    book = tmp_path / "level4.xlsx"
    result = runner.invoke(
        args=["export-rows", "2023", "tp_by_level", str(book), "--group", "4", "--names"]
    )
    assert result.exit_code == 0, result.output
    workbook = load_workbook(book, read_only=True)
    rows = list(workbook["Rows"].iter_rows(values_only=True))
    workbook.close()
    assert rows[1][:3] == ("reference", "date", "title")
    assert len(rows) - 2 > 0 and all(row[2] for row in rows[2:])  # the titles are there
    refused = runner.invoke(args=["export-rows", "2023", "tp_by_level", str(book)])
    assert refused.exit_code != 0 and "give --group" in refused.output
