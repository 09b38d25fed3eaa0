"""Bad input on every form: a clear message next to the field, nothing written, no 500."""

import datetime as dt

import pytest
from builders import dossier_in
from sqlalchemy import func, select

from dossiers import clock
from dossiers.extensions import db
from dossiers.models import READ_ACTIONS, AuditEvent, DossierKind, DossierState, Organisation

TOMORROW = (clock.today() + dt.timedelta(days=1)).isoformat()
TODAY = clock.today().isoformat()


def snapshot(app):
    """The rows of every table; of the audit trail, the events that are not reads: a
    refused form shows the dossier again, which is recorded as a read of it."""
    with app.app_context():
        counts = {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }
        counts["audit_event"] = db.session.scalar(
            select(func.count()).where(AuditEvent.action.not_in(READ_ACTIONS))
        )
        return counts


@pytest.fixture
def refs(app):
    with app.app_context():
        tp = dossier_in(DossierState.ASSESSMENT)
        vip = dossier_in(DossierState.ASSESSMENT, DossierKind.VIP_PROTECTION)
        nccn = db.session.scalars(select(Organisation.id).where(Organisation.name == "NCCN")).one()
        return {"tp": tp.reference, "vip": vip.reference, "nccn": nccn, "person": tp.persons[0].id}


VALID_MEASURE = {
    "measure_type_id": "1",
    "description": "Contact person",
    "organisation_id": "2",
    "start_date": TODAY,
}

# (role, url, form data, message expected next to a field)
OFFICER_CASES = [
    (
        "/dossiers/new",
        {"kind": "threatened_person", "title": "", "opened_on": TODAY, "ground": "function"},
        "This field is required.",
    ),
    (
        "/dossiers/new",
        {"kind": "threatened_person", "title": "x", "opened_on": TODAY, "ground": ""},
        "Give the ground of the threat",
    ),
    (
        "/dossiers/new",
        {"kind": "threatened_person", "title": "x", "opened_on": TOMORROW, "ground": "function"},
        "cannot be opened in the future",
    ),
    (
        "/dossiers/new",
        {
            "kind": "threatened_person",
            "title": "x",
            "opened_on": "31/02/2023",
            "ground": "function",
        },
        "Not a valid date value.",
    ),
    (
        "/dossiers/new",
        {"kind": "spaceship", "title": "x", "opened_on": TODAY},
        "Not a valid choice.",
    ),
    ("/dossiers/{tp}/persons", {"name": "", "function": "Mayor"}, "This field is required."),
    # A name that shows nothing: a zero-width space, a joiner.
    (
        "/dossiers/{tp}/persons",
        {"name": "\u200b\u200d", "function": "Mayor"},
        "This field is required.",
    ),
    (
        "/dossiers/{tp}/assessments/new",
        {"source": "ocam", "level": "2", "assessed_on": TODAY, "summary": "\u2060 \ufeff"},
        "This field is required.",
    ),
    (
        "/dossiers/{tp}/persons/{person}/edit",
        {"name": "", "function": "Mayor"},
        "This field is required.",
    ),
    (
        "/dossiers/{tp}/persons/{person}/edit",
        {"name": "x", "function": "Mayor", "category": "king"},
        "Not a valid choice.",
    ),
    (
        "/dossiers/{tp}/persons",
        {"name": "x" * 300, "function": "Mayor"},
        "Field cannot be longer than 160 characters.",
    ),
    (
        "/dossiers/{tp}/assessments/new",
        {"source": "ocam", "level": "", "assessed_on": TODAY, "summary": "s"},
        "This field is required.",
    ),
    (
        "/dossiers/{tp}/assessments/new",
        {"source": "ocam", "level": "9", "assessed_on": TODAY, "summary": "s"},
        "Not a valid choice.",
    ),
    (
        "/dossiers/{tp}/assessments/new",
        {
            "source": "ocam",
            "level": "2",
            "assessed_on": TODAY,
            "review_on": "2000-01-01",
            "summary": "s",
        },
        "review date cannot be before",
    ),
    (
        "/dossiers/{tp}/assessments/new",
        {"source": "ocam", "level": "2", "assessed_on": TODAY, "summary": ""},
        "This field is required.",
    ),
    (
        "/dossiers/{tp}/assessments/new",
        {"source": "ocam", "level": "abc", "assessed_on": TODAY, "summary": "s"},
        "Not a valid choice.",
    ),
    ("/dossiers/{vip}/event", {"choose-event_id": "424242"}, "Not a valid choice."),
    (
        "/dossiers/{vip}/event",
        {
            "create-name": "Summit",
            "create-kind": "european_summit",
            "create-start_date": "2024-05-02",
            "create-end_date": "2024-05-01",
            "create-place": "Brussels",
        },
        "cannot end before it starts",
    ),
    (
        "/dossiers/{vip}/approval",
        {"approval_date": TODAY, "approval_reference": ""},
        "This field is required.",
    ),
    (
        "/dossiers/{tp}/measures/new",
        {**VALID_MEASURE, "measure_type_id": ""},
        "This field is required.",
    ),
    (
        "/dossiers/{tp}/measures/new",
        {**VALID_MEASURE, "organisation_id": "{nccn}"},
        "Not a valid choice.",
    ),
    (
        "/dossiers/{tp}/measures/new",
        {**VALID_MEASURE, "end_date": "2000-01-01"},
        "cannot end before it starts",
    ),
    ("/dossiers/{tp}/measures/new", {**VALID_MEASURE, "person_id": "99999"}, "Not a valid choice."),
    (
        "/dossiers/{tp}/measures/new",
        {**VALID_MEASURE, "description": ""},
        "This field is required.",
    ),
]
ADMIN_CASES = [
    (
        "/admin/users/new",
        {"email": "not-an-email", "full_name": "X", "role": "officer", "password": "a" * 14},
        "Enter a valid email address.",
    ),
    (
        "/admin/users/new",
        {"email": "p@test.example", "full_name": "X", "role": "partner", "password": "a" * 14},
        "A police partner belongs to an organisation.",
    ),
    (
        "/admin/users/new",
        {"email": "p@test.example", "full_name": "X", "role": "officer", "password": "short"},
        "Use at least 12 characters.",
    ),
    (
        "/admin/users/new",
        {
            "email": "OFFICER@test.example",
            "full_name": "X",
            "role": "officer",
            "password": "a" * 14,
        },
        "Another account already uses this email.",
    ),
    (
        "/admin/users/new",
        {"email": "p@test.example", "full_name": "X", "role": "superuser", "password": "a" * 14},
        "Not a valid choice.",
    ),
    ("/admin/organisations/new", {"name": "", "kind": "local_police"}, "This field is required."),
    (
        "/admin/organisations/new",
        {"name": "NCCN", "kind": "local_police"},
        "Another organisation already has this name.",
    ),
]


def check_refused(app, session, url, data, message):
    before = snapshot(app)
    response = session.post(url, data=data)
    assert response.status_code == 200, (url, data, response.status_code)
    assert message in response.text, (url, data)
    assert "invalid-feedback" in response.text
    assert snapshot(app) == before, (url, data)


@pytest.mark.parametrize("url,data,message", OFFICER_CASES)
def test_officer_forms_refuse_bad_input(app, login, refs, url, data, message):
    session = login("officer")
    url = url.format(**refs)
    data = {k: v.format(**refs) for k, v in data.items()}
    check_refused(app, session, url, data, message)


@pytest.mark.parametrize("url,data,message", ADMIN_CASES)
def test_admin_forms_refuse_bad_input(app, login, url, data, message):
    check_refused(app, login("admin"), url, data, message)


def test_login_form_refuses_empty_fields(app, client):
    from conftest import csrf_from

    token = csrf_from(client.get("/login").text)
    before = snapshot(app)
    response = client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    assert response.status_code == 200 and "This field is required." in response.text
    assert snapshot(app) == before


def test_partner_report_refuses_an_unknown_status(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        measure_id = dossier.measures[0].id
    session = login("partner")
    check_refused(
        app, session, f"/measures/{measure_id}", {"status": "lifted"}, "Not a valid choice."
    )


def test_link_person_with_a_bogus_id_changes_nothing(app, login, refs):
    session = login("officer")
    before = snapshot(app)
    for value in ("abc", "", "999999", "-1"):
        response = session.post(
            f"/dossiers/{refs['tp']}/persons/link", data={"person_id": value}, follow_redirects=True
        )
        assert response.status_code == 200
        assert "Choose a person from the search results." in response.text
    assert snapshot(app) == before


def test_a_nul_byte_in_a_form_is_refused_and_writes_nothing(app, login):
    session = login("officer")
    before = snapshot(app)
    response = session.post(
        "/dossiers/new",
        data={
            "kind": "threatened_person",
            "title": "a\x00b",
            "opened_on": TODAY,
            "ground": "function",
        },
    )
    assert response.status_code == 400
    assert snapshot(app) == before


def test_dossier_filter_with_a_bad_year_shows_the_error(login):
    response = login("officer").get("/dossiers/?year=abc&kind=nothing")
    assert response.status_code == 200
    assert "Give a year of four digits." in response.text


@pytest.mark.parametrize(
    "url",
    [
        "/dossiers/?page=-3",
        "/dossiers/?page=abc",
        "/measures/999999999999999999999",
        "/dossiers/%00",
        "/dossiers/?q=%00",
        "/statistics/99999999999999999999",
    ],
)
def test_odd_urls_never_500(login, url):
    assert login("officer").get(url).status_code in (200, 400, 403, 404)


def test_a_text_that_shows_nothing_is_no_text_in_every_text_field(app):
    """Filters given by name or in order: the field still gets them, after this one."""
    from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField

    from dossiers.forms import Form
    from dossiers.labels import options

    class Any(Form):
        class Meta:
            csrf = False

        named = StringField("Named", filters=[str.upper])
        ordered = TextAreaField("Ordered", [], [str.upper])
        hidden = HiddenField()
        secret = PasswordField()
        choice = SelectField(choices=options([("\u200b", "nothing"), ("a", "a")]))

    from werkzeug.datastructures import MultiDict

    with app.test_request_context():
        invisible = "\u200b\u2060 \u200d"
        form = Any(MultiDict(dict.fromkeys(("named", "ordered", "hidden", "secret"), invisible)))
        assert (form.named.data, form.ordered.data, form.hidden.data) == ("", "", "")
        assert form.secret.data == invisible  # a password is never rewritten
        form = Any(MultiDict({"named": "e\u0301\u200b", "ordered": "ab", "choice": "\u200b"}))
        assert (form.named.data, form.ordered.data) == ("E\u0301\u200b", "AB")
        assert form.choice.data == "\u200b"  # a choice is checked against its list
