"""A partner declines a measure or asks about it: the officers see it on their dashboard
and in the dossier, the lead officer gets a mail without its words, the audit trail
names it without its words, and an officer deals with it. Partners see which measures
are new since their last visit."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from builders import dossier_in, officer
from conftest import sign_in
from sqlalchemy import func, select
from test_notifications import inbox  # noqa: F401 - the SMTP server fixture

from dossiers import measures, notifications
from dossiers.clock import today
from dossiers.extensions import db
from dossiers.models import (
    AuditEvent,
    Dossier,
    DossierKind,
    DossierState,
    MeasureMessage,
    MeasureMessageKind,
    Notification,
    User,
)

REASON = "Our whole team is on strike\nuntil the <b>end</b> of the month"


@pytest.fixture
def decided(app):
    """A dossier with measures decided, led by the officer, its measure for the zone."""
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        return dossier.reference, dossier.measures[0].id


def written(app) -> tuple[int, int, int]:
    """How many messages, their audit events and mails there are."""
    with app.app_context():
        return (
            db.session.scalar(select(func.count(MeasureMessage.id))),
            db.session.scalar(
                select(func.count(AuditEvent.id)).where(AuditEvent.action == "measure.message")
            ),
            db.session.scalar(select(func.count(Notification.id))),
        )


def send(session, measure_id: int, kind: str, reason: str = REASON):
    return session.post(f"/measures/{measure_id}/message", data={"kind": kind, "reason": reason})


def section(page: str, start: str, end: str | None = None) -> str:
    tail = page[page.index(start) :]
    return tail[: tail.index(end)] if end else tail


def test_a_decline_reaches_the_lead_officer_without_its_words_leaving_the_dossier(
    app,
    login,
    decided,
    inbox,  # noqa: F811
):
    reference, measure_id = decided
    zone = login("partner")
    response = send(zone, measure_id, "decline")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/measures/{measure_id}#messages"
    page = zone.get(f"/measures/{measure_id}").text
    assert "Your message has gone to the crisis centre." in page
    assert "Our whole team is on strike" in section(page, "Messages to the crisis centre")

    officer_session = login("officer")
    dashboard = officer_session.get("/dashboard/").text
    waiting = section(dashboard, "Messages from partners", "Dossiers needing action")
    assert f'href="/dossiers/{reference}#measure-{measure_id}"' in waiting
    assert "Police zone Brussels-Capital-Ixelles" in waiting and "Declined" in waiting
    assert "strike" not in dashboard  # the reason is read in the dossier

    detail = officer_session.get(f"/dossiers/{reference}").text
    measures_part = section(detail, "Protection measures", "Documents")
    assert "Declined by the service" in measures_part
    # The kind, the service, the author (the test user "Partner").
    assert "Declined</strong> · Police zone Brussels-Capital-Ixelles · Partner · " in measures_part
    # Its line breaks kept, its markup shown as text.
    assert "on strike\nuntil the &lt;b&gt;end&lt;/b&gt; of the month" in measures_part
    assert "<b>end</b>" not in detail
    timeline = section(detail, 'id="timeline-heading"')
    assert "Message from a partner" in timeline and "on strike" in timeline

    with app.app_context():
        [message] = db.session.scalars(select(MeasureMessage)).all()
        assert message.kind is MeasureMessageKind.DECLINE and message.reason == REASON.strip()
        [event] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "measure.message")
        ).all()
        assert event.detail_json == {
            "kind": "decline",
            "measure_id": measure_id,
            "message_id": message.id,
            "organisation_id": message.organisation_id,
        }
        assert event.dossier.reference == reference
        details = " ".join(db.session.scalars(select(AuditEvent.detail)))
        assert "strike" not in details and "month" not in details
        [row] = db.session.scalars(select(Notification)).all()
        lead = officer()
        assert (row.kind, row.address, row.user_id) == ("partner.declined", lead.email, lead.id)
        assert notifications.send_due() == (1, 0)
    [(recipients, mail)] = inbox.mails
    assert recipients == ["officer@test.example"]
    text = mail.get_content()
    assert reference in mail["Subject"] and reference in text
    assert f"https://dossiers.nccn.example/dossiers/{reference}" in text
    assert "strike" not in text + mail["Subject"] and "Jan Peeters" not in text


def test_a_question_is_shown_and_mailed_as_a_question(app, login, decided):
    reference, measure_id = decided
    assert send(login("partner"), measure_id, "question", "  Which entrance?  ").status_code == 302
    officer_session = login("officer")
    waiting = section(
        officer_session.get("/dashboard/").text, "Messages from partners", "Dossiers needing action"
    )
    assert reference in waiting and "Question" in waiting and "Declined" not in waiting
    detail = officer_session.get(f"/dossiers/{reference}").text
    assert "Which entrance?" in detail and "Declined by the service" not in detail
    with app.app_context():
        assert db.session.scalars(select(MeasureMessage.reason)).one() == "Which entrance?"
        assert db.session.scalars(select(Notification.kind)).one() == "partner.question"


@pytest.mark.parametrize(
    ("reason", "why"),
    [
        ("", "Write your reason or question first."),
        (" \n\t ", "Write your reason or question first."),
        ("x" * 2001, "Use at most 2000 characters."),
        ("Ring the \x07 bell", "control character"),
        ("Read \u202eright to left", "control character"),
    ],
)
def test_a_reason_missing_too_long_or_with_control_characters_is_refused_at_the_field(
    app, login, decided, reason, why
):
    _, measure_id = decided
    before = written(app)
    response = send(login("partner"), measure_id, "decline", reason)
    assert response.status_code == 200
    error = re.search(r'id="reason-error">([^<]*)<', response.text)
    assert error and why in error.group(1), response.text
    assert 'aria-invalid="true"' in response.text
    assert written(app) == before


def test_a_kind_not_offered_is_refused_and_nothing_is_written(app, login, decided):
    _, measure_id = decided
    before = written(app)
    response = send(login("partner"), measure_id, "complaint")
    assert response.status_code == 200 and "Not a valid choice" in response.text
    assert written(app) == before


def test_another_services_measure_is_not_found(app, login, decided):
    _, measure_id = decided
    before = written(app)
    dap = login("dap")
    assert send(dap, measure_id, "decline").status_code == 404
    assert send(dap, 999999, "question").status_code == 404
    assert written(app) == before


def test_a_lifted_measure_can_no_longer_be_declined(app, login, decided):
    _, measure_id = decided
    with app.app_context():
        from dossiers.models import Measure

        measures.lift_measure(db.session.get(Measure, measure_id), officer(), today())
        db.session.commit()
    before = written(app)
    zone = login("partner")
    page = zone.get(f"/measures/{measure_id}").text
    assert "Decline this measure" not in page  # no form for it
    response = send(zone, measure_id, "decline")
    assert response.status_code == 200
    assert "This measure is lifted: it can no longer be declined or asked about." in response.text
    assert written(app) == before


def test_dealt_with_takes_it_off_the_dashboard_once(app, login, decided):
    reference, measure_id = decided
    send(login("partner"), measure_id, "decline")
    with app.app_context():
        message_id = db.session.scalars(select(MeasureMessage.id)).one()
    officer_session = login("officer")
    detail = officer_session.get(f"/dossiers/{reference}").text
    handled_url = f"/dossiers/{reference}/messages/{message_id}/handled"
    assert f'action="{handled_url}"' in detail
    response = officer_session.post(handled_url)
    assert response.headers["Location"] == f"/dossiers/{reference}#measure-{measure_id}"
    dashboard = officer_session.get("/dashboard/").text
    assert "No message from a partner waits." in dashboard
    detail = officer_session.get(f"/dossiers/{reference}").text
    assert "dealt with on" in detail and f'action="{handled_url}"' not in detail
    assert "Declined by the service" not in detail  # dealt with: no longer marked
    assert "Partner&#39;s message dealt with" in section(detail, 'id="timeline-heading"')
    again = officer_session.post(handled_url, follow_redirects=True)
    assert again.status_code == 200
    assert "This message has already been dealt with." in again.text
    with app.app_context():
        message = db.session.get(MeasureMessage, message_id)
        assert message.handled_at is not None and message.handled_by_id == officer().id
        handled = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "measure.message_handled")
        ).one()
        assert handled.detail_json["message_id"] == message_id
        assert handled.dossier.reference == reference
    # The partner sees that it was dealt with.
    assert "dealt with on" in login("partner").get(f"/measures/{measure_id}").text


def test_a_message_on_a_dossier_closed_since_leaves_the_dashboard_as_the_digest(
    app, login, decided
):
    """Closing ended the dossier's measures: a message on one waits for nobody any more,
    on the dashboard (list and count) as in the lead officer's digest."""
    from dossiers import scheduled, workflow

    reference, measure_id = decided
    send(login("partner"), measure_id, "question", "Who do we call at night?")
    officer_session = login("officer")
    messages = section(
        officer_session.get("/dashboard/").text, "Messages from partners", "Dossiers needing action"
    )
    assert f'href="/dossiers/{reference}#measure-{measure_id}"' in messages
    assert '<span class="badge bg-danger">1</span>' in messages
    with app.app_context():
        dossier = db.session.scalars(select(Dossier).where(Dossier.reference == reference)).one()
        workflow.transition(dossier, "close", officer(), "Threat gone")
        db.session.commit()
    messages = section(
        officer_session.get("/dashboard/").text, "Messages from partners", "Dossiers needing action"
    )
    assert reference not in messages and "No message from a partner waits." in messages
    assert '<span class="badge bg-secondary">0</span>' in messages
    with app.app_context():
        digest = dict(scheduled._sections(today()))
        assert list(digest["messages"]) == []


@pytest.mark.parametrize("duty", ["duty@nccn.example", ""])
def test_a_dossier_nobody_leads_tells_the_duty_mailbox_if_there_is_one(app, login, decided, duty):
    reference, measure_id = decided
    app.config["DUTY_MAILBOX"] = duty
    with app.app_context():
        from dossiers.models import Dossier

        db.session.scalars(select(Dossier)).one().lead_officer = None
        db.session.commit()
    assert send(login("partner"), measure_id, "question").status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(Notification)).all()
        if duty:
            [row] = rows
            assert (row.address, row.language, row.kind) == (duty, "nl", "partner.question")
            assert (row.reference, row.link) == (reference, f"/dossiers/{reference}")
            assert row.user_id is None
        else:
            assert rows == []
        assert db.session.scalars(select(MeasureMessage)).one() is not None


def test_the_dashboards_messages_cost_the_same_queries_however_many(
    app, login, decided, count_queries
):
    _, measure_id = decided
    zone = login("partner")
    send(zone, measure_id, "question")
    officer_session = login("officer")
    with count_queries() as one:
        officer_session.get("/dashboard/")
    with app.app_context():
        more = [dossier_in(DossierState.MEASURES_DECIDED).measures[0].id for _ in range(4)]
    for other in more:
        assert send(zone, other, "decline").status_code == 302
    with count_queries() as five:
        page = officer_session.get("/dashboard/").text
    assert section(page, "Messages from partners", "Dossiers needing action").count("<tr>") == 6
    assert five() == one()


def at(moment: dt.datetime):
    return time_machine.travel(moment, tick=False)


def test_measures_decided_since_the_last_visit_are_marked_new(app):
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    with at(start), app.app_context():
        earlier = dossier_in(DossierState.MEASURES_DECIDED, DossierKind.VIP_PROTECTION)
        earlier_ref, earlier_event = earlier.reference, earlier.event_id
    with at(start + dt.timedelta(hours=1)):
        first = sign_in(app.test_client(), "partner")
        listing = first.get("/measures/").text
        # A first visit: everything is new.
        assert "1 new measure since your last visit" in listing
    with at(start + dt.timedelta(hours=1, minutes=5)):
        first.get("/measures/")  # still there five minutes later
    with at(start + dt.timedelta(days=1)), app.app_context():
        later = dossier_in(DossierState.MEASURES_DECIDED, DossierKind.VIP_PROTECTION)
        later_ref, later_event = later.reference, later.event_id
    with at(start + dt.timedelta(days=1, hours=2)):
        second = sign_in(app.test_client(), "partner")
        listing = second.get("/measures/").text
        events = [second.get(f"/measures/events/{e}").text for e in (earlier_event, later_event)]
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "partner@test.example")).one()
        expected = (start + dt.timedelta(hours=1, minutes=5)).replace(tzinfo=None)
        assert user.previous_visit_at == expected
    assert "1 new measure since your last visit" in listing
    rows = {
        ref: row for row in listing.split("<tr") for ref in (earlier_ref, later_ref) if ref in row
    }
    assert "new since your last visit" in rows[later_ref] and ">New<" in rows[later_ref]
    assert "new since your last visit" not in rows[earlier_ref]
    assert "new since your last visit" not in events[0]
    assert "1 new measure since your last visit" in events[1]
    assert "new since your last visit</span>" in events[1]


def test_the_new_marks_keep_the_partner_list_at_a_fixed_number_of_queries(
    app, login, count_queries
):
    with app.app_context():
        dossier_in(DossierState.MEASURES_DECIDED)
    zone = login("partner")
    with count_queries() as short:
        zone.get("/measures/")
    with app.app_context():
        for _ in range(5):
            dossier_in(DossierState.MEASURES_DECIDED)
    with count_queries() as long:
        page = zone.get("/measures/").text
    assert "6 new measures since your last visit" in page
    assert page.count("new since your last visit</span>") == 6
    assert long() == short()


def test_a_lead_who_is_no_longer_an_officer_is_as_no_lead(app, login, decided):
    """The rule of who reads a dossier's mail is the digest's: an active officer."""
    _, measure_id = decided
    app.config["DUTY_MAILBOX"] = "duty@nccn.example"
    with app.app_context():
        from dossiers.models import Role

        lead = db.session.scalars(select(User).where(User.email == "officer@test.example")).one()
        lead.role = Role.ANALYST
        db.session.commit()
    assert send(login("partner"), measure_id, "decline").status_code == 302
    with app.app_context():
        [row] = db.session.scalars(select(Notification)).all()
        assert (row.address, row.user_id) == ("duty@nccn.example", None)


def test_a_measure_moved_to_a_service_is_new_to_it(app):
    from builders import officer, org

    from dossiers import corrections

    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    with at(start), app.app_context():
        measure = dossier_in(DossierState.MEASURES_DECIDED).measures[0]
        reference = measure.dossier.reference
    with at(start + dt.timedelta(hours=1)):
        sign_in(app.test_client(), "dap").get("/measures/")  # a visit: nothing of theirs
    with at(start + dt.timedelta(days=1)), app.app_context():
        measure = db.session.get(type(measure), measure.id)
        corrections.correct_measure(
            measure,
            measure_type=measure.measure_type,
            description=measure.description,
            organisation=org("Federal"),
            person=measure.person,
            start_date=measure.start_date,
            end_date=measure.end_date,
            actor=officer(),
        )
        db.session.commit()
    with at(start + dt.timedelta(days=1, hours=1)):
        listing = sign_in(app.test_client(), "dap").get("/measures/").text
    assert "1 new measure since your last visit" in listing
    [row] = [row for row in listing.split("<tr") if reference in row]
    assert "new since your last visit" in row
