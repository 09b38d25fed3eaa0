"""Who may reach what: the route × role matrix, and partner isolation."""

import re

import pytest
from builders import dossier_in, officer, org
from sqlalchemy import select

from dossiers import documents, notifications, partner_messages
from dossiers.access import POLICY, PUBLIC
from dossiers.extensions import db
from dossiers.models import (
    DossierKind,
    DossierState,
    Measure,
    MeasureMessageKind,
    MeasureStatus,
    Organisation,
    Person,
    Role,
    StandardMeasure,
    User,
    VipCategory,
)

OF, P, A, AD = Role.OFFICER, Role.PARTNER, Role.ANALYST, Role.ADMIN
STATIC_ENDPOINTS = {"static", "bootstrap.static"}

# Who may reach each endpoint. A new endpoint must be added here, on purpose.
EXPECTED = {
    "main.index": {OF, P, A, AD},
    "main.healthz": PUBLIC,
    "main.readyz": PUBLIC,
    "main.set_language": PUBLIC,
    "auth.login": PUBLIC,
    "auth.totp": PUBLIC,
    "auth.enrol": PUBLIC,
    "auth.forgotten_password": PUBLIC,
    "auth.account_link": PUBLIC,
    "auth.set_password": PUBLIC,
    "auth.logout": {OF, P, A, AD},
    "auth.change_password": {OF, P, A, AD},
    "dashboard.index": {OF},
    "dossiers.index": {OF},
    "dossiers.new": {OF},
    "dossiers.detail": {OF},
    "dossiers.transition": {OF},
    "casework.persons": {OF},
    "casework.link_person": {OF},
    "casework.edit_person": {OF},
    "casework.remove_person": {OF},
    "casework.new_assessment": {OF},
    "casework.event": {OF},
    "casework.approval": {OF},
    "casework.new_measure": {OF},
    "casework.lift_measure": {OF},
    "casework.hand_over": {OF},
    "casework.add_document": {OF},
    "casework.document": {OF},
    "dossiers.print": {OF},
    "dossiers.message_handled": {OF},
    "dossiers.legal_hold": {OF},
    "dossiers.lift_legal_hold": {OF},
    "casework.add_note": {OF},
    "casework.edit_assessment": {OF},
    "casework.withdraw_assessment": {OF},
    "casework.edit_measure": {OF},
    "casework.withdraw_measure": {OF},
    "casework.withdraw_document": {OF},
    "events.index": {OF},
    "events.month": {OF},
    "events.new": {OF},
    "events.edit": {OF},
    "events.detail": {OF},
    "events.new_delegation": {OF},
    "events.standard_measures": {OF},
    "events.remove_standard_measure": {OF},
    "events.apply_standard_measures": {OF},
    "events.approval": {OF},
    "events.step": {OF},
    "measures.index": {P},
    "measures.detail": {P},
    "measures.events": {P},
    "measures.event": {P},
    "measures.message": {P},
    "statistics.index": {OF, A},
    "statistics.year": {OF, A},
    "statistics.figure": {OF, A},
    "statistics.chart": {OF, A},
    "statistics.export": {OF, A},
    "statistics.figure_export": {OF, A},
    "admin.users": {AD},
    "admin.new_user": {AD},
    "admin.edit_user": {AD},
    "admin.reset_two_factor": {AD},
    "admin.enrolment_code": {AD},
    "admin.invite_user": {AD},
    "admin.organisations": {AD},
    "admin.new_organisation": {AD},
    "admin.edit_organisation": {AD},
    "admin.measure_types": {AD},
    "admin.add_standard_measure_types": {AD},
    "admin.new_measure_type": {AD},
    "admin.edit_measure_type": {AD},
    "admin.audit_log": {AD},
    "admin.audit_csv": {AD},
    "admin.access_report": {AD},
    "admin.access_report_csv": {AD},
    "admin.mail": {AD},
    "admin.retry_mail": {AD},
    "admin.mailbox": {AD},
    "admin.mailbox_mail": {AD},
}
# Public, but only with a valid link from a mail, and only when signed out.
MAILED_LINK_PAGES = ("auth.account_link", "auth.set_password")
ROLE_KEYS = {OF: "officer", P: "partner", A: "analyst", AD: "admin"}


def test_the_policy_table_is_the_url_map(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(POLICY)
    declared = {k: set(v) for k, v in POLICY.items() if k not in STATIC_ENDPOINTS}
    assert declared == {k: set(v) for k, v in EXPECTED.items()}


def test_an_endpoint_missing_from_the_policy_is_refused(app, login):
    @app.get("/undeclared")
    def undeclared():
        return "should never be served"

    for who in ("officer", "partner", "analyst", "admin"):
        assert login(who).get("/undeclared").status_code == 403
    assert app.test_client().get("/undeclared").status_code == 403


@pytest.fixture
def url_values(app, tmp_path):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        measure = dossier.measures[0]
        vip = dossier_in(DossierState.MEASURES_DECIDED, DossierKind.VIP_PROTECTION)
        line = StandardMeasure(
            category=VipCategory.MINISTER,
            measure_type=measure.measure_type,
            organisation=measure.organisation,
        )
        db.session.add(line)
        document = documents.attach(
            dossier, name="note.pdf", content=b"%PDF-1.4\n%%EOF\n", actor=officer()
        )
        partner = db.session.scalars(select(User).where(User.email == "partner@test.example")).one()
        message = partner_messages.send(measure, MeasureMessageKind.QUESTION, "When?", partner)
        # The development mailbox's pages answer 404 unless mails are written to files.
        app.config.update(MAIL_BACKEND="file", MAIL_FOLDER=str(tmp_path / "mail"))
        mail = notifications.queue(
            "measure.decided", address="zone@test.example", language="nl", link="/measures/"
        )
        db.session.commit()
        notifications.send_due()
        return {
            "notification_id": mail.id,
            "message_id": message.id,
            "line_id": line.id,
            "event_id": vip.event_id,
            "reference": dossier.reference,
            "measure_id": measure.id,
            "assessment_id": dossier.assessments[0].id,
            "document_id": document.id,
            "type_id": measure.measure_type_id,
            "person_id": dossier.persons[0].id,
            "organisation_id": db.session.scalars(select(Organisation.id)).first(),
            "user_id": db.session.scalars(select(User.id)).first(),
            "year": dossier.opened_on.year,
            "name": "reassess",
            "key": "tp_by_month",
            "fmt": "csv",
            "month": dossier.opened_on.month,
        }


def requests_for(app, values):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in STATIC_ENDPOINTS:
            continue
        url = rule.build({k: values[k] for k in rule.arguments})[1]
        if rule.endpoint in ("statistics.figure", "statistics.figure_export"):
            url += f"?group={values['month']}"
        if rule.endpoint in ("admin.access_report", "admin.access_report_csv"):
            url += f"?reference={values['reference']}"
        method = "GET" if "GET" in rule.methods else "POST"
        yield rule.endpoint, method, url


@pytest.mark.parametrize("role", list(Role))
def test_route_matrix(app, login, url_values, role):
    session = login(ROLE_KEYS[role])
    for endpoint, method, url in requests_for(app, url_values):
        allowed = role in EXPECTED[endpoint] or EXPECTED[endpoint] == PUBLIC
        if method == "POST" and allowed:
            continue  # reaching it would act; the domain tests cover what it does
        response = session.get(url) if method == "GET" else session.post(url)
        # A streamed download (the audit CSV) keeps its request's context until closed.
        response.close()
        if endpoint == "main.readyz":
            assert response.status_code in (200, 503)  # 503: the test schema is not migrated
        elif endpoint in MAILED_LINK_PAGES:
            assert response.status_code == 409  # signed in: sign out to use a mailed link
        elif allowed:
            assert response.status_code in (200, 302), (endpoint, response.status_code)
        else:
            assert response.status_code == 403, (endpoint, role, response.status_code)


def test_anonymous_is_sent_to_sign_in(app, client, url_values):
    for endpoint, method, url in requests_for(app, url_values):
        response = client.open(url, method=method)
        if endpoint == "main.readyz":
            assert response.status_code in (200, 503)  # 503: the test schema is not migrated
        elif endpoint == "main.set_language":
            assert response.status_code == 400  # without a CSRF token
        elif endpoint in MAILED_LINK_PAGES:
            assert response.status_code == 410  # no valid link: gone
        elif EXPECTED[endpoint] == PUBLIC:
            # The second sign-in step sends back to the first when there was none.
            assert response.status_code == 200 or response.headers["Location"] == "/login", endpoint
        elif method == "GET":
            assert response.status_code == 302, endpoint
            assert "/login" in response.headers["Location"]
        else:
            # A POST without a CSRF token is refused before anything else.
            assert response.status_code in (302, 400), endpoint


def _measure_for(app, partner: str, state=DossierState.MEASURES_DECIDED):
    with app.app_context():
        dossier = dossier_in(DossierState.INTAKE)
        from builders import officer, ready_to_decide

        from dossiers import workflow

        workflow.transition(dossier, "start_assessment", officer())
        measure = ready_to_decide(dossier, partner=partner)
        if state is DossierState.MEASURES_DECIDED:
            workflow.transition(dossier, "decide_measures", officer())
        db.session.commit()
        return measure.id, dossier.reference, dossier.persons[0].id


def without_token(html):
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_partner_sees_only_its_own_decided_measures(app, login):
    own, own_ref, _ = _measure_for(app, "Police zone")
    other, other_ref, _ = _measure_for(app, "Federal Police DAP")
    draft, _, _ = _measure_for(app, "Police zone", state=DossierState.ASSESSMENT)
    zone = login("partner")
    listing = zone.get("/measures/").text
    assert own_ref in listing
    assert other_ref not in listing
    assert zone.get(f"/measures/{own}").status_code == 200
    # Another organisation's measure, a draft and a measure that does not exist
    # get the same answer.
    for measure_id in (other, draft, 999999):
        response = zone.get(f"/measures/{measure_id}")
        assert response.status_code == 404
        # The same page, but for the CSRF token, which carries the second it was made.
        assert without_token(response.text) == without_token(zone.get("/measures/999998").text)
        assert (
            zone.post(f"/measures/{measure_id}", data={"status": "acknowledged"}).status_code == 404
        )


def test_partner_cannot_reach_dossiers_or_persons(app, login):
    _, reference, person_id = _measure_for(app, "Police zone")
    zone = login("partner")
    for url in (
        f"/dossiers/{reference}",
        "/dossiers/TP-1999-0001",
        f"/dossiers/{reference}/persons",
        "/dossiers/TP-1999-0001/persons",
        f"/dossiers/{reference}/measures/new",
        "/dossiers/",
        "/dashboard/",
        "/statistics/",
        "/admin/users",
    ):
        assert zone.get(url).status_code == 403, url
    response = zone.post(f"/dossiers/{reference}/persons/{person_id}/remove")
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Person, person_id) is not None


def test_partner_page_shows_no_assessment_text(app, login):
    measure_id, _, _ = _measure_for(app, "Police zone")
    page = login("partner").get(f"/measures/{measure_id}").text
    assert "Threat letters" not in page  # the assessment summary
    assert "Jan Peeters" in page  # the protected person is needed to act
    assert "3 – serious" in page


def test_partner_acknowledges_then_reports_execution(app, login):
    measure_id, _, _ = _measure_for(app, "Police zone")
    zone = login("partner")
    response = zone.post(f"/measures/{measure_id}", data={"status": "in_execution", "note": "x"})
    assert "Not a valid choice." in response.text  # not acknowledged yet
    zone.post(f"/measures/{measure_id}", data={"status": "acknowledged"})
    response = zone.post(f"/measures/{measure_id}", data={"status": "in_execution", "note": ""})
    assert "Describe the execution" in response.text
    zone.post(
        f"/measures/{measure_id}", data={"status": "in_execution", "note": "Patrols twice a night"}
    )
    with app.app_context():
        measure = db.session.get(Measure, measure_id)
        assert measure.status.value == "in_execution"
        assert "Patrols twice a night" in measure.execution_note


def test_admin_never_reads_dossier_contents(app, login):
    _, reference, _ = _measure_for(app, "Police zone")
    admin = login("admin")
    assert admin.get(f"/dossiers/{reference}").status_code == 403
    assert admin.get("/measures/").status_code == 403
    assert "Jan Peeters" not in admin.get("/admin/users").text


def test_a_partner_moved_to_another_organisation_loses_access_at_once(app, login):
    measure_id, _, _ = _measure_for(app, "Police zone")
    zone = login("partner")
    assert zone.get(f"/measures/{measure_id}").status_code == 200
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "partner@test.example")).one()
        user.organisation_id = org("Federal Police").id
        db.session.commit()
    assert zone.get(f"/measures/{measure_id}").status_code == 404


def test_an_endpoint_with_no_roles_is_nobodys(app, login, monkeypatch):
    @app.get("/nobody")
    def nobody():
        return "should never be served"

    monkeypatch.setitem(POLICY, "nobody", frozenset())
    assert login("officer").get("/nobody").status_code == 403
    assert app.test_client().get("/nobody").status_code == 302  # to sign in, then refused


def test_objects_load_only_through_their_own_dossier(app, login):
    """An id of another dossier's person, assessment or measure is absent from this one."""
    from werkzeug.exceptions import NotFound

    from dossiers.access import dossier_assessment, dossier_measure, dossier_person

    with app.app_context():
        mine, other = dossier_in(DossierState.ASSESSMENT), dossier_in(DossierState.ASSESSMENT)
        with app.test_request_context():
            assert dossier_person(mine, mine.persons[0].id) is mine.persons[0]
            assert dossier_assessment(mine, mine.assessments[0].id) is mine.assessments[0]
            assert dossier_measure(mine, mine.measures[0].id) is mine.measures[0]
            for load, item in (
                (dossier_person, other.persons[0]),
                (dossier_assessment, other.assessments[0]),
                (dossier_measure, other.measures[0]),
            ):
                with pytest.raises(NotFound):
                    load(mine, item.id)
        mine_ref, other_person = mine.reference, other.persons[0].id
        other_measure = other.measures[0].id
    session = login("officer")
    assert session.get(f"/dossiers/{mine_ref}/persons/{other_person}/edit").status_code == 404
    removed = session.post(
        f"/dossiers/{mine_ref}/persons/{other_person}/remove", follow_redirects=True
    )
    assert "This person is not in the dossier." in removed.text
    lifted = session.post(
        f"/dossiers/{mine_ref}/measures/{other_measure}/lift", follow_redirects=True
    )
    assert "There is no such measure in this dossier." in lifted.text
    with app.app_context():
        assert db.session.get(Measure, other_measure).status is not MeasureStatus.LIFTED
        assert len(db.session.scalars(select(Person)).all()) == 2
