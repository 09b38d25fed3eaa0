"""Working as a team: handing a dossier over, "my dossiers", the list's filters, and
internal notes."""

from __future__ import annotations

import datetime as dt
import re

from builders import assess, dossier_in, new_dossier, officer
from sqlalchemy import select

from dossiers import casework
from dossiers.clock import today
from dossiers.extensions import db
from dossiers.models import AuditEvent, Dossier, DossierNote, DossierState


def hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input[^>]*name="(version|seen)"[^>]*value="([^"]*)"', html))


def listed(html: str) -> set[str]:
    return set(re.findall(r">((?:TP|VIP)-\d{4}-\d{4})</a>", html))


def test_an_officer_hands_a_dossier_over_and_it_moves_to_the_other_officers_list(app, login, user):
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)
        reference, colleague_id = dossier.reference, user("officer2").id
        my_id = user("officer").id
    mine = login("officer")
    assert reference in listed(mine.get("/dossiers/?mine=y").text)
    url = f"/dossiers/{reference}/hand-over"
    page = mine.get(url).text
    assert "Officer2" in page
    same = mine.post(url, data={"officer_id": str(my_id), **hidden(page)})
    assert "already leads this dossier" in same.text and "is-invalid" in same.text
    moved = mine.post(
        url, data={"officer_id": str(colleague_id), **hidden(page)}, follow_redirects=True
    )
    assert "Dossier handed over." in moved.text
    timeline = re.sub(r"\s+", " ", moved.text[moved.text.index('class="timeline') :])
    assert "Dossier handed over: lead officer Officer → Officer2" in timeline
    assert reference not in listed(mine.get("/dossiers/?mine=y").text)
    assert reference in listed(mine.get("/dossiers/").text)
    assert reference in listed(login("officer2").get("/dossiers/?mine=y").text)
    with app.app_context():
        assert db.session.scalars(select(Dossier)).one().lead_officer_id == colleague_id
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "dossier.hand_over")
        ).one()
        assert event.detail_json["changes"]["lead_officer"][1] == colleague_id


def test_a_dossier_cannot_be_handed_to_a_partner_or_an_inactive_officer(app, user):
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)
        colleague = user("officer2")
        colleague.active = False
        for someone in (user("partner"), colleague, None):
            try:
                casework.hand_over(dossier, someone, officer())
            except Exception as refused:  # noqa: BLE001 - the refusal's words are checked
                assert "Choose an active crisis-centre officer." in str(refused)
            else:
                raise AssertionError(f"handed to {someone}")
        assert dossier.lead_officer_id == officer().id


def test_the_list_filters_by_level_and_by_review_due(app, login):
    with app.app_context():
        due = new_dossier(opened_on=today() - dt.timedelta(days=60))
        assess(due, due.opened_on, review_on=today(), level=4)
        later = new_dossier(opened_on=today() - dt.timedelta(days=60))
        assess(later, later.opened_on, review_on=today() + dt.timedelta(days=1), level=2)
        never = new_dossier()
        db.session.commit()
        due_ref, later_ref, never_ref = due.reference, later.reference, never.reference
    session = login("officer")
    assert listed(session.get("/dossiers/?level=4").text) == {due_ref}
    assert listed(session.get("/dossiers/?level=2").text) == {later_ref}
    assert listed(session.get("/dossiers/?review_due=y").text) == {due_ref}
    assert listed(session.get("/dossiers/").text) == {due_ref, later_ref, never_ref}
    refused = session.get("/dossiers/?level=9")
    assert refused.status_code == 200 and "Not a valid choice" in refused.text


def test_an_internal_note_keeps_its_lines_shows_in_the_timeline_and_is_audited(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)
        reference = dossier.reference
    session = login("officer")
    page = session.post(
        f"/dossiers/{reference}/notes",
        data={"body": "Called the mayor.\nShe asks for discretion."},
        follow_redirects=True,
    )
    assert "Note added." in page.text
    timeline = page.text[page.text.index('class="timeline') :]
    assert "Internal note added" in timeline
    assert '<span class="d-block keep-lines note-body">Called the mayor.\nShe asks' in timeline
    empty = session.post(f"/dossiers/{reference}/notes", data={"body": "  "}, follow_redirects=True)
    assert "This field is required." in empty.text
    with app.app_context():
        assert len(db.session.scalars(select(DossierNote)).all()) == 1
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "note.create")
        ).one()
        assert "mayor" not in event.detail  # the words stay in the dossier, not the trail
