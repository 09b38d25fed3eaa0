"""The administrator's access report: who read or changed a dossier or a person, and when,
from the audit trail, without the dossier's contents; itself a read in the trail."""

import csv
import datetime as dt
import io
import json
import re
from html import unescape

import pytest
from builders import dossier_in, new_dossier, officer, with_person
from conftest import plan_of
from retention_builders import protected, run_on
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from test_delegations import summit  # noqa: F401 - the event fixture

from dossiers import audit, casework
from dossiers.extensions import db
from dossiers.models import AuditEvent, AuditHead, DossierKind, DossierState

REPORT = "/admin/access-report"


def table(html: str) -> list[list[str]]:
    """The report's rows, each as the text of its cells."""
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return [
        [" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]
        for cells in (
            re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
        )
    ]


def whats(html: str) -> list[tuple[str, str, str]]:
    """Each row's account, action and dossier."""
    return [(row[1], row[4], row[6]) for row in table(html)]


def reads(app, **where) -> list[AuditEvent]:
    with app.app_context():
        query = (
            select(AuditEvent)
            .options(joinedload(AuditEvent.actor))
            .where(AuditEvent.action == "audit.access_report")
        )
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list(db.session.scalars(query.order_by(AuditEvent.sequence)))


def test_a_dossiers_report_lists_its_readers_newest_first_and_nothing_of_another(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        other = dossier_in(DossierState.MEASURES_DECIDED)
        reference, other_reference = dossier.reference, other.reference
        measure_id, person_id = dossier.measures[0].id, dossier.persons[0].id
    officer_session = login("officer")
    officer_session.get(f"/dossiers/{reference}")
    login("partner").get(f"/measures/{measure_id}")
    officer_session.get(f"/dossiers/{other_reference}")

    page = login("admin").get(f"{REPORT}?reference={reference.lower()}")
    assert page.status_code == 200
    rows = whats(page.text)
    # Newest first: this report, the partner's read of the measure, the officer's of the
    # dossier, then the dossier's making (its persons, assessment, measure, steps).
    assert rows[0] == ("Admin admin@test.example", "Access report made", reference)
    assert rows[1] == ("Partner partner@test.example", "Measure read", reference)
    assert rows[2] == ("Officer officer@test.example", "Dossier read", reference)
    assert ("Officer officer@test.example", "Dossier opened", reference) == rows[-1]
    assert {dossier for _, _, dossier in rows} == {reference}
    partner_row = table(page.text)[1]
    assert partner_row[2:4] == ["Police partner", "Police zone Brussels-Capital-Ixelles"]
    assert other_reference not in page.text
    # Accounts, references and actions: nothing of what the dossier holds.
    for content in ("Jan Peeters", "Mayor threatened", "Threat letters", "Fixed contact"):
        assert content not in page.text
    # Its persons, by number only, each a link to their own report.
    assert f'href="{REPORT}?person={person_id}"' in page.text


def test_a_persons_report_lists_the_events_of_each_dossier_they_are_or_were_in(app, login):
    with app.app_context():
        first = dossier_in(DossierState.ASSESSMENT)
        person = first.persons[0]
        second = new_dossier()
        casework.link_person(second, person, officer())
        db.session.commit()
        casework.remove_person(second, person, officer())
        unrelated = with_person(new_dossier(), name="Someone Else")
        db.session.commit()
        person_id = person.id
        references = first.reference, second.reference, unrelated.reference
    officer_session = login("officer")
    for reference in references:
        officer_session.get(f"/dossiers/{reference}")

    page = login("admin").get(f"{REPORT}?person=%20{person_id}%20")
    assert page.status_code == 200
    assert f"Person {person_id}" in page.text  # the number, never the name
    assert "Jan Peeters" not in page.text and "Someone Else" not in page.text
    rows = whats(page.text)
    by = "Officer officer@test.example"
    assert rows[0] == ("Admin admin@test.example", "Access report made", "")
    assert (by, "Dossier read", references[0]) in rows
    assert (by, "Dossier read", references[1]) in rows  # read after they left it
    assert (by, "Person removed", references[1]) in rows
    assert (by, "Person added", references[1]) in rows
    assert (by, "Person recorded", references[0]) in rows
    assert all(dossier != references[2] for _, _, dossier in rows)
    assert references[2] not in page.text
    # The dossiers they are or were in, each a link to the dossier's report.
    for reference in references[:2]:
        assert f'href="{REPORT}?reference={reference}"' in page.text


def test_reads_of_the_overview_of_a_dossiers_event_are_listed(app, login):
    with app.app_context():
        vip = dossier_in(DossierState.MEASURES_DECIDED, DossierKind.VIP_PROTECTION)
        tp = dossier_in(DossierState.MEASURES_DECIDED)
        event_id, vip_reference, tp_reference = vip.event_id, vip.reference, tp.reference
    login("officer").get(f"/events/{event_id}")
    admin = login("admin")
    listed = whats(admin.get(f"{REPORT}?reference={vip_reference}").text)
    assert ("Officer officer@test.example", "Event read", "") in listed
    assert "Event read" not in admin.get(f"{REPORT}?reference={tp_reference}").text


def test_making_the_report_is_a_read_in_the_trail_with_ids_only(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        reference, dossier_id, person_id = dossier.reference, dossier.id, dossier.persons[0].id
        version = db.session.get(AuditHead, 1).data_version
    admin = login("admin")
    admin.get(f"{REPORT}?reference={reference}")
    admin.get(f"{REPORT}.csv?reference={reference}").close()
    admin.get(f"{REPORT}?person={person_id}")

    made = reads(app)
    assert [(e.object_type, e.object_id, e.dossier_id) for e in made] == [
        ("dossier", dossier_id, dossier_id),
        ("dossier", dossier_id, dossier_id),
        ("person", person_id, None),
    ]
    assert [json.loads(e.detail) for e in made] == [
        {"shown": "page"},
        {"shown": "csv"},
        {"shown": "page"},
    ]
    assert {e.actor.email for e in made} == {"admin@test.example"}
    with app.app_context():
        # A read: the figures' data version stays, the dossier's timeline does not show it.
        assert db.session.get(AuditHead, 1).data_version == version
        assert not audit.changes_data("audit.access_report", "ok")
    timeline = login("officer").get(f"/dossiers/{reference}").text
    assert "Access report made" not in timeline


def test_the_csv_export_is_the_report_and_a_hostile_account_name_stays_text(app, login, user):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        reference, other = dossier.reference, dossier_in(DossierState.INTAKE).reference
        hostile = user("officer2")
        hostile.full_name = '=HYPERLINK("http://evil.example","x")'
        db.session.commit()
    login("officer2").get(f"/dossiers/{reference}")
    login("officer2").get(f"/dossiers/{other}")
    response = login("admin").get(f"{REPORT}.csv?reference={reference}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f"access-report-{reference}.csv" in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.text)))
    header, first, second = lines[0], lines[1], lines[2]
    assert header[:2] == ["at_brussels", "account"]
    assert first[1] == "Admin" and first[5] == "audit.access_report"
    assert second[1:7] == [
        '\'=HYPERLINK("http://evil.example","x")',
        "officer2@test.example",
        "officer",
        "NCCN",
        "dossier.view",
        "Dossier read",
    ]
    assert second[9] == reference
    at = dt.datetime.fromisoformat(second[0])
    assert at.utcoffset() in (dt.timedelta(hours=1), dt.timedelta(hours=2))  # Brussels
    cells = [cell for line in lines for cell in line]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert other not in response.text and "Jan Peeters" not in response.text


@pytest.mark.parametrize("who", ["officer", "partner", "analyst"])
def test_only_administrators_reach_it(app, login, who):
    with app.app_context():
        reference = dossier_in(DossierState.MEASURES_DECIDED).reference
    session = login(who)
    for url in (f"{REPORT}?reference={reference}", f"{REPORT}.csv?reference={reference}"):
        assert session.get(url).status_code == 403
    assert reads(app) == []


@pytest.mark.parametrize(
    "query, status, message",
    [
        ("reference=TP-1999-9999", 404, "No dossier has this reference."),
        ("person=999999", 404, "No person has this number."),
        ("person=abc", 200, "A person's number is digits only, such as 123."),
        ("person=-1", 200, "A person's number is digits only, such as 123."),
        ("person=99999999999999999999", 404, "No person has this number."),
        ("person=0", 404, "No person has this number."),
        ("person=%C2%B2", 200, "A person's number is digits only"),
        ("reference=%3Cscript%3E", 200, "A dossier reference looks like TP-2024-0001."),
        ("reference=" + "9" * 500, 200, "A dossier reference looks like TP-2024-0001."),
        ("reference=TP-2024-0001&person=1", 200, "Give a dossier or a person, not both."),
    ],
)
def test_bad_input_gets_a_message_or_a_404(app, login, query, status, message):
    admin = login("admin")
    page = admin.get(f"{REPORT}?{query}")
    assert page.status_code == status
    assert message in unescape(page.text)
    assert "<script>" not in page.text
    assert admin.get(f"{REPORT}.csv?{query}").status_code == 404
    assert reads(app) == []  # nothing was reported on


def test_a_hostile_cursor_or_no_subject_shows_the_form(app, login):
    with app.app_context():
        reference = dossier_in(DossierState.INTAKE).reference
    admin = login("admin")
    assert admin.get(REPORT).status_code == 200
    assert admin.get(f"{REPORT}.csv").status_code == 404
    for cursor in ("x", "eyJ0IjoieCJ9", "W1siYSJdXQ", "W3sidCI6Ijk5OTktMTItMzEifSwgMV0"):
        response = admin.get(f"{REPORT}?reference={reference}&after={cursor}")
        assert response.status_code == 200


def test_the_report_pages_with_the_keyset(app, login):
    with app.app_context():
        reference = dossier_in(DossierState.INTAKE).reference
    officer_session = login("officer")
    for _ in range(55):
        officer_session.get(f"/dossiers/{reference}")
    admin = login("admin")
    first = admin.get(f"{REPORT}?reference={reference}").text
    assert len(table(first)) == 50
    after = re.search(r'rel="next" href="([^"]+)"', first).group(1)
    second = admin.get(unescape(after)).text
    # The rest: the reads, the dossier's making; none twice.
    assert 0 < len(table(second)) < 50
    assert table(second)[-1][4] == "Dossier opened"


def test_a_purged_persons_report_still_works(app, login):
    with app.app_context():
        dossier = protected(dt.date(2019, 3, 1), dt.date(2020, 6, 1), name="Hortense Purgée")
        reference, person_id = dossier.reference, dossier.persons[0].id
    login("officer").get(f"/dossiers/{reference}")
    with app.app_context():
        assert run_on(dt.date(2031, 1, 1)).persons == 1
    admin = login("admin")
    page = admin.get(f"{REPORT}?person={person_id}")
    assert page.status_code == 200
    assert f"Person {person_id}" in page.text and "Hortense" not in page.text
    listed = whats(page.text)
    assert ("Officer officer@test.example", "Dossier read", reference) in listed
    assert ("Officer officer@test.example", "Person recorded", reference) in listed
    dossier_page = admin.get(f"{REPORT}?reference={reference}")
    assert dossier_page.status_code == 200 and "Hortense" not in dossier_page.text
    assert "Hortense" not in admin.get(f"{REPORT}.csv?person={person_id}").text


def test_a_persons_events_are_read_from_the_index_of_actions_and_objects(app, login):
    """The trail grows with every read of every dossier: a person's report must find
    their events (and the dossiers those name) through the index, not by walking it."""
    with app.app_context():
        person_id = dossier_in(DossierState.MEASURES_DECIDED).persons[0].id
        sqlite = db.engine.dialect.name == "sqlite"
    url = f"{REPORT}?person={person_id}"
    dossiers = plan_of(app, login, "admin", url, "SELECT audit_event.dossier_id")
    assert "ix_audit_event_action_object" in dossiers, dossiers
    if sqlite:  # PostgreSQL needs a bitmap scan for an OR, which plan_of forbids
        events = plan_of(app, login, "admin", url, "ORDER BY audit_event.at DESC")
        assert "MULTI-INDEX OR" in events and "ix_audit_event_action_object" in events, events


# Every page of one dossier shows its title and persons: each is a read of it.
DOSSIER_PAGES = (
    "persons",
    "persons/{person}/edit",
    "assessments/new",
    "assessments/{assessment}/edit",
    "assessments/{assessment}/withdraw",
    "measures/new",
    "measures/{measure}/edit",
    "measures/{measure}/withdraw",
    "hand-over",
    "legal-hold",
    "documents/new",
)


def test_each_page_of_a_dossier_is_a_read_its_persons_report_lists(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        reference, person_id = dossier.reference, dossier.persons[0].id
        ids = {
            "person": person_id,
            "assessment": dossier.assessments[0].id,
            "measure": dossier.measures[0].id,
        }
    officer_session = login("officer")
    for page in DOSSIER_PAGES:
        shown = officer_session.get(f"/dossiers/{reference}/{page.format(**ids)}")
        assert shown.status_code == 200 and "Mayor threatened" in shown.text, page
    refused = officer_session.post(f"/dossiers/{reference}/hand-over", data={})
    assert refused.status_code == 200  # a refused form shows the dossier again: a read too
    with app.app_context():
        views = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "dossier.view")
        ).all()
        pages = [json.loads(v.detail).get("page") for v in views]
    assert len(pages) == len(DOSSIER_PAGES) + 1
    assert pages.count("casework.hand_over") == 2 and "dossiers.legal_hold" in pages

    rows = whats(login("admin").get(f"{REPORT}?person={person_id}").text)
    read = ("Officer officer@test.example", "Dossier read", reference)
    assert rows.count(read) == len(DOSSIER_PAGES) + 1


def test_a_search_that_showed_a_person_is_in_their_report(
    app,
    login,
    summit,  # noqa: F811
):
    with app.app_context():
        theirs = with_person(new_dossier(), name="Jan Peeters")
        searched_from = new_dossier()
        person_id, reference = theirs.persons[0].id, searched_from.reference
    summit_id = summit
    officer_session = login("officer")
    found = officer_session.get(f"/dossiers/{reference}/persons?q=Peeters")
    assert "Jan Peeters" in found.text
    nobody = officer_session.get(f"/dossiers/{reference}/persons?q=Nobodyatall")
    assert "Jan Peeters" not in nobody.text
    listing = "name,country,function,category,arrival,departure\nJan Peeters,Belgium,x,other,,\n"
    preview = officer_session.post(
        f"/events/{summit_id}/delegations/new",
        data={"title": "Belgium", "listing": listing},
        content_type="multipart/form-data",
    )
    assert "the same as Jan Peeters" in preview.text  # with their function and country

    rows = whats(login("admin").get(f"{REPORT}?person={person_id}").text)
    searched = [row for row in rows if row[1] == "Persons searched"]
    assert searched == [
        ("Officer officer@test.example", "Persons searched", ""),  # the delegation's list
        ("Officer officer@test.example", "Persons searched", reference),
    ]
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "person.search")
            .order_by(AuditEvent.sequence)
        ).all()
        details = [(e.object_id, json.loads(e.detail)) for e in events]
    assert details == [
        (person_id, {"results": 1}),
        (None, {"results": 0}),  # a search that showed nobody is still recorded
        (person_id, {"results": 1, "event_id": summit_id}),
    ]
