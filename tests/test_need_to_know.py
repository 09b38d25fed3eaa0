"""Need-to-know: canary strings in one organisation's data never reach anybody else,
through any endpoint, method, export or error; extra form fields change nothing;
officers see who can see a dossier and why."""

import io
import shutil
import subprocess
import zipfile

import pytest
from builders import dossier_in, measure_type, officer, org
from conftest import csrf_from
from sqlalchemy import select

from dossiers import casework, documents, measures, partner_messages, workflow
from dossiers.access import POLICY
from dossiers.extensions import db
from dossiers.models import (
    AssessmentSource,
    Dossier,
    DossierKind,
    DossierState,
    Measure,
    MeasureMessage,
    MeasureMessageKind,
    Role,
    User,
)

CANARIES = (
    "CANARY-TITLE-B",
    "CANARY-PERSON-B",
    "CANARY-SUMMARY-B",
    "CANARY-MEASURE-B",
    "CANARY-NOTE-B",
    "CANARY-VIP-B",
    "CANARY-INTERNAL-B",
    "CANARY-DOCUMENT-B",
    "CANARY-MESSAGE-B",
)


@pytest.fixture
def two_organisations(app):
    """Dossier A with a measure for the local zone; dossier B, full of canaries, with a
    measure for the federal police only."""
    with app.app_context():
        a = dossier_in(DossierState.MEASURES_DECIDED)
        b = casework.create_dossier(
            kind=a.kind,
            title="CANARY-TITLE-B",
            opened_on=a.opened_on,
            actor=officer(),
            ground=a.ground,
        )
        person = casework.add_new_person(
            b, name="CANARY-PERSON-B", function="Judge", actor=officer()
        )
        workflow.transition(b, "start_assessment", officer())
        assessment = casework.record_assessment(
            b,
            source=AssessmentSource.OCAM,
            level=4,
            assessed_on=b.opened_on,
            review_on=None,
            summary="CANARY-SUMMARY-B",
            actor=officer(),
        )
        measure = measures.add_measure(
            b,
            measure_type=measure_type("close_protection"),
            description="CANARY-MEASURE-B",
            organisation=org("Federal"),
            start_date=b.opened_on,
            end_date=None,
            actor=officer(),
            person=person,
        )
        workflow.transition(b, "decide_measures", officer())
        measure.execution_note = "CANARY-NOTE-B"
        casework.add_note(b, "CANARY-INTERNAL-B", officer())
        # Its name and its content carry the canary: neither may reach anyone else.
        document = documents.attach(
            b,
            name="CANARY-DOCUMENT-B.pdf",
            content=b"%PDF-1.4\nCANARY-DOCUMENT-B\n%%EOF\n",
            actor=officer(),
        )
        # The federal police's question to the centre on B's measure.
        dap = db.session.scalars(select(User).where(User.email == "dap@test.example")).one()
        message = partner_messages.send(
            measure, MeasureMessageKind.QUESTION, "CANARY-MESSAGE-B", dap
        )
        # A delegation at a summit, protected by the federal police only.
        vip = dossier_in(DossierState.MEASURES_DECIDED, DossierKind.VIP_PROTECTION)
        vip.persons[0].name = "CANARY-VIP-B"
        vip.measures[0].organisation = org("Federal")
        db.session.commit()
        users = list(db.session.scalars(select(User.id)))
        return {
            "a": a.reference,
            "b": b.reference,
            "b_measure": measure.id,
            "b_person": person.id,
            "b_assessment": assessment.id,
            "b_document": document.id,
            "b_message": message.id,
            "a_measure": a.measures[0].id,
            "year": b.opened_on.year,
            "users": users,
            "event_id": vip.event_id,
            "month": vip.event.start_date.month,
        }


def texts_of(response):
    """What a person could read in a response, including inside XLSX and PDF files."""
    data = response.data
    kind = response.headers.get("Content-Type", "")
    if "spreadsheetml" in kind:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return "".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    if "pdf" in kind and shutil.which("pdftotext"):
        return subprocess.run(
            ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
        ).stdout.decode()
    return data.decode("utf-8", "replace") + str(response.headers)


def all_requests(app, values):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "bootstrap.static", "auth.logout"):
            continue
        args = {k: values[k] for k in rule.arguments}
        url = rule.build(args)[1]
        if rule.endpoint in ("statistics.figure", "statistics.figure_export"):
            url += "?group=4"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def values_pointing_at_b(ids, key="tp_by_level", fmt="csv"):
    return {
        "reference": ids["b"],
        "measure_id": ids["b_measure"],
        "person_id": ids["b_person"],
        "assessment_id": ids["b_assessment"],
        "document_id": ids["b_document"],
        "message_id": ids["b_message"],
        "organisation_id": 2,
        "user_id": ids["users"][0],
        "year": ids["year"],
        "name": "close",
        "key": key,
        "fmt": fmt,
        "event_id": ids["event_id"],
        "month": ids["month"],
        "line_id": 1,
        "type_id": 1,
        "notification_id": 1,
    }


@pytest.mark.parametrize("who", ["partner", "analyst", "admin", None])
def test_no_canary_reaches_anyone_outside_the_need_to_know(app, login, two_organisations, who):
    session = login(who) if who else None
    client = session.client if session else app.test_client()
    token = session.token if session else ""
    probes = 0
    for variant in (
        dict(key="tp_by_level", fmt="csv"),
        dict(key="tp_persons", fmt="xlsx"),
        dict(key="tp_dossiers", fmt="pdf"),
        dict(key="protected_attendances", fmt="csv"),
    ):
        for endpoint, method, url in all_requests(
            app, values_pointing_at_b(two_organisations, **variant)
        ):
            data = {
                "csrf_token": token,
                "status": "acknowledged",
                "note": "x",
                "name": "x",
                "reason": "x",
                "person_id": str(two_organisations["b_person"]),
            }
            response = client.open(url, method=method, data=data if method == "POST" else None)
            probes += 1
            text = texts_of(response)
            leaked = [c for c in CANARIES if c in text]
            assert not leaked, (who, endpoint, method, url, response.status_code, leaked)
    assert probes > 4 * 30


def test_the_canaries_are_readable_by_those_who_need_them(app, login, two_organisations):
    dap = login("dap")
    page = dap.get(f"/measures/{two_organisations['b_measure']}").text
    assert "CANARY-MEASURE-B" in page and "CANARY-PERSON-B" in page
    assert "CANARY-SUMMARY-B" not in page  # even the right partner never reads the assessment
    assert "CANARY-MESSAGE-B" in page  # its own service's message
    assert "CANARY-INTERNAL-B" not in page  # nor the officers' internal notes
    officer = login("officer")
    officer_page = officer.get(f"/dossiers/{two_organisations['b']}").text
    assert all(c in officer_page for c in CANARIES if c != "CANARY-VIP-B")
    assert "CANARY-VIP-B" in officer.get(f"/events/{two_organisations['event_id']}").text


def test_the_other_partner_cannot_touch_b(app, login, two_organisations):
    zone = login("partner")
    response = zone.post(
        f"/measures/{two_organisations['b_measure']}",
        data={"status": "acknowledged", "note": "mine now"},
    )
    assert response.status_code == 404
    with app.app_context():
        measure = db.session.get(Measure, two_organisations["b_measure"])
        assert measure.status.value == "requested" and "mine now" not in measure.execution_note


def test_another_service_can_neither_read_nor_send_messages_on_b(app, login, two_organisations):
    zone = login("partner")
    b_measure = two_organisations["b_measure"]
    for kind in ("decline", "question"):
        response = zone.post(
            f"/measures/{b_measure}/message", data={"kind": kind, "reason": "mine now"}
        )
        assert response.status_code == 404
    assert zone.get(f"/measures/{b_measure}").status_code == 404
    # Its own measure's page shows its own service's messages only.
    own = zone.get(f"/measures/{two_organisations['a_measure']}").text
    assert "CANARY-MESSAGE-B" not in own
    # Dealing with a message is the officers' alone.
    b, message_id = two_organisations["b"], two_organisations["b_message"]
    handled = zone.post(f"/dossiers/{b}/messages/{message_id}/handled")
    assert handled.status_code == 403
    with app.app_context():
        [message] = db.session.scalars(select(MeasureMessage)).all()
        assert message.reason == "CANARY-MESSAGE-B" and message.handled_at is None


def test_an_officer_deals_only_with_a_message_of_the_dossier_named(app, login, two_organisations):
    officer = login("officer")
    a, message_id = two_organisations["a"], two_organisations["b_message"]
    assert officer.post(f"/dossiers/{a}/messages/{message_id}/handled").status_code == 404
    with app.app_context():
        assert db.session.get(MeasureMessage, message_id).handled_at is None


def test_extra_form_fields_change_nothing(app, login, two_organisations, user):
    officer_session = login("officer")
    with app.app_context():
        admin_id = user("admin").id
    response = officer_session.post(
        "/dossiers/new",
        data={
            "kind": "threatened_person",
            "title": "Mass assignment",
            "opened_on": "2025-03-04",
            "ground": "function",
            "state": "closed",
            "reference": "TP-1999-9999",
            "id": "1",
            "closed_on": "2025-03-05",
            "lead_officer_id": str(admin_id),
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    with app.app_context():
        dossier = db.session.scalars(
            select(Dossier).where(Dossier.title == "Mass assignment")
        ).one()
        assert dossier.state is DossierState.INTAKE and dossier.reference == "TP-2025-0001"
        assert dossier.closed_on is None and dossier.lead_officer.email == "officer@test.example"
    a = two_organisations["a"]
    officer_session.post(
        f"/dossiers/{a}/measures/new",
        data={
            "measure_type_id": "1",
            "description": "d",
            "organisation_id": "2",
            "start_date": "2025-03-04",
            "status": "lifted",
            "decided_at": "",
            "dossier_id": "999",
        },
    )
    zone = login("partner")
    zone.post(
        f"/measures/{two_organisations['a_measure']}",
        data={
            "status": "acknowledged",
            "organisation_id": "3",
            "dossier_id": "999",
            "description": "rewritten",
            "end_date": "2000-01-01",
        },
    )
    with app.app_context():
        measure = db.session.get(Measure, two_organisations["a_measure"])
        assert measure.status.value == "acknowledged"
        assert measure.organisation.name.startswith("Police zone")
        assert measure.description != "rewritten" and measure.end_date is None
        newest = db.session.scalars(select(Measure).order_by(Measure.id.desc())).first()
        assert newest.status.value == "requested"
    admin = login("admin")
    admin.post(
        "/admin/users/new",
        data={
            "email": "extra@test.example",
            "full_name": "Extra",
            "role": "analyst",
            "password": "Tilted-Lantern-Orchard-93",
            "active": "y",
            "totp_secret": "AAAAAAAAAAAAAAAA",
            "password_hash": "plain",
            "totp_confirmed_at": "2020-01-01",
        },
    )
    with app.app_context():
        extra = db.session.scalars(select(User).where(User.email == "extra@test.example")).one()
        assert extra.totp_secret is None and extra.password_hash.startswith("$argon2id$")


def test_officers_see_who_can_see_a_dossier_and_why(app, login, two_organisations):
    page = login("officer").get(f"/dossiers/{two_organisations['b']}").text
    trace = page[page.index("Who can see this dossier") : page.index("Timeline")]
    assert "Crisis-centre officers" in trace and "Officer2" in trace
    assert "Federal Police DAP" in trace and "Dap" in trace  # the partner user of that service
    assert "Police zone Brussels-Capital-Ixelles" not in trace  # no measure for them here
    assert "Statistics readers" in trace and "Administrators" in trace


def test_the_access_trace_lists_active_accounts_by_service_and_name(app, login, two_organisations):
    with app.app_context():
        template = db.session.scalars(select(User).where(User.email == "dap@test.example")).one()
        for email, name, role, organisation_id, active in (
            ("aaron@test.example", "Aaron Officer", Role.OFFICER, None, True),
            ("gone@test.example", "Gone Officer", Role.OFFICER, None, False),
            ("bea@test.example", "Bea Dap", template.role, template.organisation_id, True),
            ("left@test.example", "Left Dap", template.role, template.organisation_id, False),
        ):
            db.session.add(
                User(
                    email=email,
                    full_name=name,
                    role=role,
                    password_hash=template.password_hash,
                    organisation_id=organisation_id,
                    active=active,
                )
            )
        db.session.commit()
    page = login("officer").get(f"/dossiers/{two_organisations['b']}").text
    trace = page[page.index("Who can see this dossier") : page.index("Timeline")]
    officers = trace[trace.index("Crisis-centre officers") : trace.index("Federal Police DAP")]
    partners = trace[trace.index("Federal Police DAP") : trace.index("Statistics readers")]
    assert "Aaron Officer, Officer, Officer2" in officers
    assert "Bea Dap, Dap" in partners
    assert "Gone Officer" not in trace and "Left Dap" not in trace
    assert "Dap" not in officers and "Officer" not in partners


def test_the_policy_has_a_rule_for_every_endpoint_and_nothing_else(app):
    assert {r.endpoint for r in app.url_map.iter_rules()} == set(POLICY)


def test_csrf_is_required_on_every_post(app, login):
    session = login("officer")
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods:
            url = rule.build(
                {
                    k: "1" if k.endswith("_id") or k == "year" else "TP-2025-0001"
                    for k in rule.arguments
                }
            )[1]
            assert session.client.post(url, data={}).status_code == 400, rule.endpoint
    assert csrf_from(session.get("/dossiers/new").text)
