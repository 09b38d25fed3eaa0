"""Reference data an admin keeps: measure types in three languages, retired or offered,
and organisations with their functional mailbox; a fresh installation usable without
the demo data."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, Session, forget_migrations, sign_in
from sqlalchemy import select

from dossiers import clock, create_app
from dossiers.extensions import db
from dossiers.models import AuditEvent, Measure, MeasureType, Organisation


@pytest.fixture
def fresh(tmp_path):
    """An installation as the README starts one: migrated, then one admin, one officer and
    one partner account created on the command line; no seed-demo."""
    from conftest import database_url

    app = create_app({"CONFIG_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url(tmp_path)})
    with app.app_context():
        db.drop_all()
        forget_migrations()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    for email, role in (("admin@fresh.example", "admin"), ("officer@fresh.example", "officer")):
        made = runner.invoke(args=["create-user", email, "--role", role], input=PASSWORD + "\n")
        assert made.exit_code == 0, made.output
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        forget_migrations()
        db.engine.dispose()


def signed_in(app, who: str) -> Session:
    return sign_in(app.test_client(), who, domain="fresh.example")


def test_a_fresh_installation_decides_its_first_measure_without_the_demo(fresh):
    with fresh.app_context():
        assert db.session.scalar(select(MeasureType.id)) is None  # nothing to decide with
    admin = signed_in(fresh, "admin")
    page = admin.get("/admin/measure-types").text
    assert "No measure type yet" in page and "Add the standard list" in page
    saved = admin.post(
        "/admin/organisations/new",
        data={
            "name": "Police zone Leuven",
            "kind": "local_police",
            "mailbox": "dispatch@leuven.example",
            "active": "y",
        },
        follow_redirects=True,
    )
    assert "Organisation saved." in saved.text and "dispatch@leuven.example" in saved.text
    saved = admin.post(
        "/admin/measure-types/new",
        data={
            "label_nl": "Camerabewaking",
            "label_fr": "Vidéosurveillance",
            "label": "Camera surveillance",
            "active": "y",
        },
        follow_redirects=True,
    )
    assert "Measure type saved." in saved.text and "Vidéosurveillance" in saved.text
    runner = fresh.test_cli_runner()
    made = runner.invoke(
        args=[
            "create-user",
            "partner@fresh.example",
            "--role",
            "partner",
            "--organisation",
            "Police zone Leuven",
        ],
        input=PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output

    officer = signed_in(fresh, "officer")
    today = clock.today().isoformat()
    opened = officer.post(
        "/dossiers/new",
        data={
            "kind": "threatened_person",
            "title": "Mayor threatened",
            "opened_on": today,
            "ground": "function",
        },
    )
    reference = opened.headers["Location"].rsplit("/", 1)[-1]
    officer.post(f"/dossiers/{reference}/persons", data={"name": "An Peeters", "function": "Mayor"})
    officer.post(f"/dossiers/{reference}/transition/start_assessment")
    officer.post(
        f"/dossiers/{reference}/assessments/new",
        data={"source": "ocam", "level": "3", "assessed_on": today, "summary": "Letters"},
    )
    form = officer.get(f"/dossiers/{reference}/measures/new").text
    assert "Camera surveillance" in form  # the admin's type is offered
    with fresh.app_context():
        type_id = db.session.scalar(select(MeasureType.id))
        zone_id = db.session.scalar(
            select(Organisation.id).where(Organisation.name == "Police zone Leuven")
        )
    added = officer.post(
        f"/dossiers/{reference}/measures/new",
        data={
            "measure_type_id": str(type_id),
            "description": "A camera at the front door",
            "organisation_id": str(zone_id),
            "start_date": today,
        },
    )
    assert added.status_code == 302, added.text
    decided = officer.post(
        f"/dossiers/{reference}/transition/decide_measures", follow_redirects=True
    )
    assert "Measures decided" in decided.text

    partner = signed_in(fresh, "partner")
    mine = partner.get("/measures/").text
    assert reference in mine and "Camera surveillance" in mine
    partner.client.post("/language", data={"language": "fr", "csrf_token": partner.token})
    assert "Vidéosurveillance" in partner.get("/measures/").text  # named in the reader's language


def test_the_standard_list_in_one_step_named_in_three_languages(fresh):
    admin = signed_in(fresh, "admin")
    added = admin.post("/admin/measure-types/standard", follow_redirects=True)
    assert "9 measure types added." in added.text
    assert "Add the standard list" not in added.text
    with fresh.app_context():
        close = db.session.scalars(
            select(MeasureType).where(MeasureType.code == "close_protection")
        ).one()
        assert (close.label, close.label_nl, close.label_fr) == (
            "Close protection",
            "Persoonsbeveiliging",
            "Protection rapprochée",
        )
        assert (
            db.session.scalar(
                select(db.func.count()).where(AuditEvent.action == "measure_type.create")
            )
            == 9
        )
    again = admin.post("/admin/measure-types/standard", follow_redirects=True)
    assert "0 measure types added." in again.text


def test_a_retired_type_stays_on_its_measures_and_is_no_longer_offered(app, login):
    from builders import dossier_in

    from dossiers.models import DossierState

    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        reference = dossier.reference
        retired = dossier.measures[0].measure_type
        retired_id, name = retired.id, retired.label
    admin = login("admin")
    page = admin.get(f"/admin/measure-types/{retired_id}").text
    assert re.search(r"1 measure has this type", page)
    saved = admin.post(
        f"/admin/measure-types/{retired_id}",
        data={"label_nl": "Oud", "label_fr": "Ancien", "label": name},  # "active" unticked
        follow_redirects=True,
    )
    assert "Measure type saved." in saved.text and "retired" in saved.text
    officer = login("officer")
    assert name in officer.get(f"/dossiers/{reference}").text  # still on its measure
    offered = officer.get(f"/dossiers/{reference}/measures/new").text
    assert f">{name}<" not in offered
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Measure)) >= 1
        changed = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "measure_type.update")
        ).one()
        assert '"changed": ["label_nl", "label_fr", "active"]' in changed.detail
        assert "Oud" not in changed.detail  # which fields, not their words


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"label_nl": "", "label_fr": "Patrouilles", "label": "Patrols 2"},
            "This field is required.",
        ),
        (
            {"label_nl": "Nieuw", "label_fr": "Nouveau", "label": "patrols"},
            "Another measure type already has the name patrols.",
        ),
        ({"label_nl": "x" * 121, "label_fr": "y", "label": "z"}, "Field cannot be longer"),
    ],
)
def test_a_refused_measure_type_says_why_and_writes_nothing(app, login, data, error):
    with app.app_context():
        before = db.session.scalar(select(db.func.count()).select_from(MeasureType))
    refused = login("admin").post("/admin/measure-types/new", data={**data, "active": "y"})
    assert refused.status_code in (200, 409) and error in refused.text
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(MeasureType)) == before


def test_an_organisation_mailbox_must_be_an_address(app, login):
    refused = login("admin").post(
        "/admin/organisations/new",
        data={"name": "Police zone Gent", "kind": "local_police", "mailbox": "not an address"},
    )
    assert "Enter a valid email address." in refused.text
    with app.app_context():
        assert (
            db.session.scalar(
                select(Organisation.id).where(Organisation.name == "Police zone Gent")
            )
            is None
        )


def test_a_retired_type_is_no_longer_given_by_the_standard_sets(app, login):
    from builders import dossier_in, measure_type, org

    from dossiers import measures
    from dossiers.models import DossierKind, DossierState, Person, VipCategory

    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT, DossierKind.VIP_PROTECTION)
        dossier.persons[0].category = VipCategory.MINISTER
        for code in ("patrols", "close_protection"):
            measures.add_standard(
                VipCategory.MINISTER, measure_type(code), org("Federal Police DAP"), None
            )
        measure_type("patrols").active = False
        db.session.commit()
        added = measures.apply_standard_sets(dossier, dossier.lead_officer)
        assert [m.measure_type.code for m in added] == ["close_protection"]
        assert isinstance(dossier.persons[0], Person)


def test_the_standard_list_refuses_a_name_an_admin_gave_another_type(fresh):
    admin = signed_in(fresh, "admin")
    admin.post(
        "/admin/measure-types/new",
        data={
            "label_nl": "Escorte",
            "label_fr": "Accompagnement",
            "label": "Police escort",
            "active": "y",
        },
    )
    refused = admin.post("/admin/measure-types/standard", follow_redirects=True)
    assert "Another measure type already has the name Escorte." in refused.text
    with fresh.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(MeasureType)) == 1
