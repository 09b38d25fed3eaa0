"""Mails the sender makes by itself: one reminder to a service of a measure it has not
acknowledged after a day, and the officers' daily digest at the digest hour on the
centre's clock, each made once whatever the number of rounds or senders; the admin's
view of the outbox, and the development mailbox."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
import time_machine
from builders import (
    assess,
    dossier_in,
    measure_type,
    new_dossier,
    officer,
    org,
    with_person,
)
from sqlalchemy import select
from test_notifications import inbox, outbox, with_mailboxes  # noqa: F401 - the SMTP fixture

from dossiers import casework, corrections, measures, notifications, partner_messages, workflow
from dossiers.clock import now_utc, today
from dossiers.extensions import db
from dossiers.labels import MAIL_KINDS
from dossiers.models import (
    AuditEvent,
    DossierState,
    MeasureMessageKind,
    MeasureStatus,
    Notification,
    NotificationStatus,
    User,
)
from dossiers.scheduled import LISTED, _details, digest_lines, schedule

UTC = dt.UTC
# 10:00 in Brussels on a winter Thursday: past the digest hour.
MORNING = dt.datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
NAME = "Jan Peeters"  # every dossier's person (builders.with_person)


def travel(at: dt.datetime):
    return time_machine.travel(at, tick=False)


def account(key: str) -> User:
    return db.session.scalars(select(User).where(User.email == f"{key}@test.example")).one()


def of_kind(kind: str) -> list[Notification]:
    return [row for row in outbox() if row.kind == kind]


def mails_to(inbox, address: str) -> list:  # noqa: F811 - the fixture's value
    return [mail for recipients, mail in inbox.mails if recipients == [address]]


# --- Reminders ---------------------------------------------------------------------------


def test_a_measure_not_acknowledged_after_a_day_gets_one_reminder(app, inbox):  # noqa: F811
    with app.app_context():
        with travel(MORNING):
            with_mailboxes("fr")
            dossier = dossier_in(DossierState.MEASURES_DECIDED)  # to the zone, in French
            measure_id, reference = dossier.measures[0].id, dossier.reference
            assert notifications.send_due() == (1, 0)  # the decision's mail
        with travel(MORNING + dt.timedelta(hours=23, minutes=59)):
            assert schedule().reminders == 0  # not yet
        with travel(MORNING + dt.timedelta(hours=24, minutes=1)):
            assert schedule().reminders == 1
            assert schedule().reminders == 0  # once, whatever the number of rounds
        with travel(MORNING + dt.timedelta(days=3)):
            assert schedule().reminders == 0
            [row] = of_kind("measure.reminder")
            assert (row.address, row.language, row.link) == (
                "dispatch@zone.example",
                "fr",
                f"/measures/{measure_id}",
            )
            notifications.send_due()
    reminder = mails_to(inbox, "dispatch@zone.example")[-1]
    text = reminder.get_content()
    assert reference in reminder["Subject"]
    assert f"https://dossiers.nccn.example/measures/{measure_id}" in text
    assert "N’y répondez pas" in text  # the service's language
    assert NAME not in text + reminder["Subject"]
    assert "Fixed contact person" not in text  # what the measure is stays inside


def test_a_request_older_than_a_week_gets_no_reminder_but_stays_in_the_digest(app):
    """A sender started on a backlog (or down for a week) does not flood a service."""
    with app.app_context():
        with travel(MORNING):
            with_mailboxes()
            dossier_in(DossierState.MEASURES_DECIDED)
        with travel(MORNING + dt.timedelta(days=7, minutes=1)):
            assert schedule().reminders == 0
            assert of_kind("measure.reminder") == []
            [digest] = of_kind("digest.officer")
            assert "unacknowledged" in json.loads(digest.details)


def test_an_acknowledged_measure_and_a_service_without_a_mailbox_get_no_reminder(app):
    with app.app_context():
        with travel(MORNING):
            dossier_in(DossierState.MEASURES_DECIDED)  # no mailbox set yet: nobody to tell
            with_mailboxes()
            acknowledged = dossier_in(DossierState.MEASURES_DECIDED).measures[0]
            measures.report_on_measure(
                acknowledged, MeasureStatus.ACKNOWLEDGED, "", account("partner")
            )
            db.session.commit()
            org("Police zone").mailbox = ""
            db.session.commit()
        with travel(MORNING + dt.timedelta(hours=25)):
            assert schedule().reminders == 0
            org("Police zone").mailbox = "dispatch@zone.example"
            db.session.commit()
            assert schedule().reminders == 1  # the first, still waiting; not the acknowledged
            [row] = of_kind("measure.reminder")
            assert row.link != f"/measures/{acknowledged.id}"


def test_a_measure_put_to_its_service_again_gets_a_new_reminder(app):
    with app.app_context():
        with travel(MORNING):
            with_mailboxes()
            measure = dossier_in(DossierState.MEASURES_DECIDED).measures[0]
        with travel(MORNING + dt.timedelta(hours=25)):
            assert schedule().reminders == 1
            measures.report_on_measure(measure, MeasureStatus.ACKNOWLEDGED, "", account("partner"))
            db.session.commit()
        changed = MORNING + dt.timedelta(hours=26)
        with travel(changed):
            corrections.correct_measure(
                measure,
                measure_type=measure_type("patrols"),
                description=measure.description,
                organisation=measure.organisation,
                person=None,
                start_date=measure.start_date,
                end_date=None,
                actor=officer(),
            )
            db.session.commit()
            assert measure.status is MeasureStatus.REQUESTED  # to acknowledge again
        with travel(changed + dt.timedelta(hours=23)):
            assert schedule().reminders == 0
        with travel(changed + dt.timedelta(hours=24, minutes=1)):
            assert schedule().reminders == 1
            assert len(of_kind("measure.reminder")) == 2


def test_a_service_that_asked_about_a_measure_is_not_reminded_of_it(app):
    with app.app_context():
        with travel(MORNING):
            with_mailboxes()
            measure = dossier_in(DossierState.MEASURES_DECIDED).measures[0]
            partner_messages.send(
                measure, MeasureMessageKind.QUESTION, "Which address?", account("partner")
            )
            db.session.commit()
        with travel(MORNING + dt.timedelta(hours=25)):
            assert schedule().reminders == 0  # it has answered: the centre's turn


# --- The daily digest --------------------------------------------------------------------


def dossier_to_review(review_on: dt.date):
    """An open dossier in assessment whose current assessment asks for a review then."""
    dossier = with_person(new_dossier(opened_on=today() - dt.timedelta(days=60)))
    workflow.transition(dossier, "start_assessment", officer())
    assess(dossier, today() - dt.timedelta(days=30), review_on=review_on)
    db.session.commit()
    return dossier


def dossier_with_measure_ending(end: dt.date):
    dossier = with_person(new_dossier())
    workflow.transition(dossier, "start_assessment", officer())
    assess(dossier, today())
    measures.add_measure(
        dossier,
        measure_type=measure_type(),
        description="Fixed contact person",
        organisation=org("Federal"),
        start_date=today(),
        end_date=end,
        actor=officer(),
    )
    workflow.transition(dossier, "decide_measures", officer())
    db.session.commit()
    measures.report_on_measure(dossier.measures[0], MeasureStatus.ACKNOWLEDGED, "", account("dap"))
    db.session.commit()
    return dossier


def digest_of(kind: str, address: str) -> dict:
    [row] = [row for row in of_kind(kind) if row.address == address]
    return json.loads(row.details)


def references(details: dict, section: str) -> list[str]:
    return [reference for reference, _, _ in details[section]["dossiers"]]


def test_each_officer_gets_the_work_of_the_dossiers_they_lead(app, inbox):  # noqa: F811
    app.config["DUTY_MAILBOX"] = "duty@nccn.example"
    with app.app_context():
        with travel(MORNING - dt.timedelta(hours=3)):  # 07:00 in Brussels: the hour itself
            with_mailboxes()
            account("officer2").language = "fr"
            overdue = dossier_to_review(today() - dt.timedelta(days=5))
            due = dossier_to_review(today() + dt.timedelta(days=7))
            later = dossier_to_review(today() + dt.timedelta(days=8))  # not within 7 days
            closed = dossier_to_review(today() - dt.timedelta(days=9))
            workflow.transition(closed, "close_without_measures", officer(), "Threat gone")
            ending = dossier_with_measure_ending(today() + dt.timedelta(days=3))
            waiting = dossier_in(DossierState.MEASURES_DECIDED)
            partner_messages.send(
                waiting.measures[0],
                MeasureMessageKind.DECLINE,
                "No patrol there",
                account("partner"),
            )
            others = dossier_in(DossierState.MEASURES_DECIDED)
            casework.hand_over(others, account("officer2"), officer())
            unled = dossier_in(DossierState.MEASURES_DECIDED)
            unled.lead_officer_id = None  # as in older records
            db.session.commit()
            assert schedule().digests == 3  # two officers and the duty mailbox
            mine = digest_of("digest.officer", "officer@test.example")
            assert references(mine, "reviews_overdue") == [overdue.reference]
            assert references(mine, "reviews_due") == [due.reference]
            assert references(mine, "measures_ending") == [ending.reference]
            assert references(mine, "unacknowledged") == [waiting.reference]
            assert references(mine, "messages") == [waiting.reference]
            shown = json.dumps(mine)
            for absent in (later, closed, others, unled):
                assert absent.reference not in shown
            theirs = digest_of("digest.officer", "officer2@test.example")
            assert set(theirs) == {"unacknowledged"}
            assert references(theirs, "unacknowledged") == [others.reference]
            duty = digest_of("digest.duty", "duty@nccn.example")
            assert references(duty, "unacknowledged") == [unled.reference]
            assert NAME not in shown + json.dumps(theirs) + json.dumps(duty)
            notifications.send_due()
            [to_me] = [
                m for m in mails_to(inbox, "officer@test.example") if "dashboard" in m.get_content()
            ]
            [to_them] = mails_to(inbox, "officer2@test.example")
            [to_duty] = mails_to(inbox, "duty@nccn.example")
            text = to_me.get_content()
            assert "15/01/2026" in to_me["Subject"]
            for present in (overdue, due, ending, waiting):
                assert present.reference in text
            assert others.reference not in text and unled.reference not in text
            assert "https://dossiers.nccn.example/dashboard/" in text
            assert "Beantwoord hem niet" in text  # no language chosen: Dutch
            assert "N’y répondez pas" in to_them.get_content()  # officer2 reads French
            assert unled.reference in to_duty.get_content()
            for mail in (to_me, to_them, to_duty):
                body = mail.get_content() + mail["Subject"]
                assert NAME not in body
                assert "Fixed contact person" not in body and "No patrol there" not in body
                assert "Mayor threatened" not in body  # the dossier's title


@pytest.mark.parametrize(
    ("before", "after", "day"),
    [
        # Winter: Brussels is UTC+1; summer: UTC+2.
        (dt.datetime(2026, 1, 15, 5, 59), dt.datetime(2026, 1, 15, 6, 0), "2026-01-15"),
        (dt.datetime(2026, 7, 15, 4, 59), dt.datetime(2026, 7, 15, 5, 0), "2026-07-15"),
    ],
    ids=["winter", "summer"],
)
def test_the_digest_is_made_at_the_digest_hour_in_brussels(app, before, after, day):
    with app.app_context():
        with travel(before.replace(tzinfo=UTC)):
            dossier_in(DossierState.MEASURES_DECIDED)
            assert schedule().digests == 0  # 06:59 in Brussels
        with travel(after.replace(tzinfo=UTC)):
            assert schedule().digests == 1  # 07:00
            [row] = of_kind("digest.officer")
            assert row.dedupe_key == f"digest:{officer().id}:{day}"


@pytest.mark.parametrize(
    ("last_minute", "midnight", "days"),
    [
        (dt.datetime(2026, 1, 15, 22, 59), dt.datetime(2026, 1, 15, 23, 0), ("15/01", "16/01")),
        (dt.datetime(2026, 7, 15, 21, 59), dt.datetime(2026, 7, 15, 22, 0), ("15/07", "16/07")),
    ],
    ids=["winter", "summer"],
)
def test_the_digests_day_is_the_centres_day_around_midnight(app, last_minute, midnight, days):
    app.config["DIGEST_HOUR"] = 0
    with app.app_context():
        with travel(last_minute.replace(tzinfo=UTC)):  # 23:59 in Brussels
            dossier_in(DossierState.MEASURES_DECIDED)
            assert schedule().digests == 1
        with travel(midnight.replace(tzinfo=UTC)):  # 00:00 in Brussels: the next day
            assert schedule().digests == 1
            assert schedule().digests == 0
        assert [row.reference[:5] for row in of_kind("digest.officer")] == list(days)


def test_the_digest_is_made_once_a_day_and_never_empty(app):
    app.config["DUTY_MAILBOX"] = "duty@nccn.example"
    with app.app_context():
        with travel(MORNING):
            assert schedule().digests == 0  # nothing waits anywhere: nothing is made
            made = db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "mail.digests")
            ).one()
            assert made.detail_json == {"day": "2026-01-15", "made": 0}
        with travel(MORNING + dt.timedelta(hours=1)):
            dossier_in(DossierState.MEASURES_DECIDED)
            assert schedule().digests == 0  # the day's digests were made already
        with travel(MORNING + dt.timedelta(hours=22)):  # 07:00 the next day
            assert schedule().digests == 1
        with travel(MORNING + dt.timedelta(hours=30)):
            assert schedule().digests == 0
        assert len(of_kind("digest.officer")) == 1
        assert of_kind("digest.duty") == []  # every dossier has its lead


def test_a_long_section_names_twenty_dossiers_and_counts_the_rest(app):
    work = {
        "reviews_overdue": {
            f"TP-2025-{n:04d}": [1, dt.date(2025, 12, 1) + dt.timedelta(days=n)]
            for n in range(LISTED + 3)
        },
        "unacknowledged": {"TP-2026-0001": [2, dt.date(2026, 1, 2)]},
    }
    row = Notification(kind="digest.officer", details=_details(work))
    details = json.loads(row.details)
    assert len(details["reviews_overdue"]["dossiers"]) == LISTED
    assert details["reviews_overdue"]["more"] == 3
    with app.test_request_context(headers={"Accept-Language": "en"}):
        overdue, unacknowledged = digest_lines(row)
    assert overdue.startswith("23 threat reviews overdue:")
    assert "- TP-2025-0000 – 01/12/2025" in overdue
    assert "TP-2025-0020" not in overdue
    assert overdue.endswith("and 3 more dossiers")
    assert "- TP-2026-0001 – 02/01/2026 (2 measures)" in unacknowledged


def test_the_notify_command_makes_the_digest_then_sends_it(app, inbox):  # noqa: F811
    with travel(MORNING):
        with app.app_context():
            dossier_in(DossierState.MEASURES_DECIDED)
        result = app.test_cli_runner().invoke(args=["notify"])
        assert result.exit_code == 0, result.output
        assert "Reminders made: 0; daily digests made: 1." in result.output
        assert "Mails sent: 1" in result.output
        again = app.test_cli_runner().invoke(args=["notify"])
        assert "daily digests made: 0." in again.output
    assert len(mails_to(inbox, "officer@test.example")) == 1


def test_two_senders_at_once_make_and_send_each_mail_once(app, inbox):  # noqa: F811
    """The digest's and the reminders' keys are unique; PostgreSQL runs several senders."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("several senders at once are for PostgreSQL; SQLite runs one sender")
        with travel(MORNING - dt.timedelta(days=2)):
            with_mailboxes()
            for _ in range(4):
                dossier_in(DossierState.MEASURES_DECIDED)
            assert notifications.send_due() == (4, 0)  # the decisions
    made: list = []
    start = threading.Barrier(2)

    def sender() -> None:
        with app.app_context():
            start.wait()
            made.append(schedule())
            notifications.send_due()
            db.session.remove()

    with travel(MORNING):
        threads = [threading.Thread(target=sender) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(m.digests for m in made) == 1
    with app.app_context():  # the second sender waited for the first, then found it done
        marks = select(AuditEvent).where(AuditEvent.action == "mail.digests")
        assert len(db.session.scalars(marks).all()) == 1
    assert sum(m.reminders for m in made) == 4
    assert len(mails_to(inbox, "officer@test.example")) == 1
    assert len(mails_to(inbox, "dispatch@zone.example")) == 8  # four decisions, four reminders
    assert len({mail["Message-ID"] for _, mail in inbox.mails}) == len(inbox.mails)


def test_every_kind_of_mail_is_named_for_the_outbox_page():
    assert set(notifications.MAILS) <= set(MAIL_KINDS)


# --- The admin's outbox ------------------------------------------------------------------


def test_the_outbox_page_shows_a_given_up_mail_and_sends_it_again(app, inbox, login):  # noqa: F811
    with app.app_context():
        with_mailboxes()
        reference = dossier_in(DossierState.MEASURES_DECIDED).reference
        [row] = outbox()
        row.created_at = now_utc() - dt.timedelta(hours=25)  # a day of failures behind it
        db.session.commit()
        inbox.refuse = True
        assert notifications.send_due() == (0, 1)
        dead_id = row.id
        assert db.session.get(Notification, dead_id).status is NotificationStatus.DEAD
    admin = login("admin")
    page = admin.get("/admin/mail").text
    assert "Measure decided, to its service" in page
    assert "Police zone Brussels-Capital-Ixelles" in page
    assert reference in page and "451" in page
    assert f"/admin/mail/{dead_id}/retry" in page
    assert login("officer").get("/admin/mail").status_code == 403
    sent_again = admin.post(f"/admin/mail/{dead_id}/retry", follow_redirects=True)
    assert "The mail will be sent again" in sent_again.text
    with app.app_context():
        row = db.session.get(Notification, dead_id)
        assert (row.status, row.attempts) == (NotificationStatus.PENDING, 0)
        retried = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "mail.retry")
        ).one()
        assert retried.detail_json["attempts"] == 1 and retried.actor.email == "admin@test.example"
        # Its give-up clock starts over: a failure now is tried again, not given up.
        assert notifications.send_due() == (0, 1)
        assert db.session.get(Notification, dead_id).status is NotificationStatus.PENDING
        inbox.refuse = False
        with travel(now_utc().replace(tzinfo=UTC) + dt.timedelta(minutes=2)):
            assert notifications.send_due() == (1, 0)
    assert len(mails_to(inbox, "dispatch@zone.example")) == 1
    refused = admin.post(f"/admin/mail/{dead_id}/retry", follow_redirects=True)
    assert "Only a mail that was given up can be sent again." in refused.text


# --- The development mailbox -------------------------------------------------------------


def test_the_development_mailbox_shows_the_mails_written_to_files(app, login, tmp_path):
    folder = tmp_path / "mail"
    app.config.update(MAIL_BACKEND="file", MAIL_FOLDER=str(folder))
    with app.app_context():
        with_mailboxes()
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        assert notifications.send_due() == (1, 0)
        [row] = outbox()
        measure_id = dossier.measures[0].id
    hostile = (
        "From: x@example.org\nTo: <script>alert(1)</script>@example.org\n"
        "Subject: <script>alert(2)</script>\nMessage-ID: <notification-999999@dossiers.local>\n"
        '\nGo to javascript:alert(3) or <b>https://example.org/?a="><img src=x></b>\n'
    )
    (folder / "notification-999999_dossiers.local.eml").write_text(hostile)
    (folder / "notes.eml").write_text(hostile)  # not a name the sender gives
    admin = login("admin")
    listing = admin.get("/admin/mailbox")
    assert listing.status_code == 200
    assert dossier.reference in listing.text and "dispatch@zone.example" in listing.text
    assert f"/admin/mailbox/{row.id}" in listing.text and "/admin/mailbox/999999" in listing.text
    shown = admin.get(f"/admin/mailbox/{row.id}")
    assert shown.status_code == 200
    assert f'<a href="http://127.0.0.1:5000/measures/{measure_id}">' in shown.text
    crafted = admin.get("/admin/mailbox/999999").text
    for text in (listing.text, crafted):
        assert "<script>alert" not in text and "&lt;script&gt;" in text
    assert "<img" not in crafted and 'href="javascript' not in crafted
    assert '<a href="https://example.org/?a=">' in crafted  # the address ends at a quote
    for missing in ("/admin/mailbox/12345", "/admin/mailbox/notes", "/admin/mailbox/..%2Fnotes"):
        assert admin.get(missing).status_code == 404
    for who in ("partner", "officer"):
        assert login(who).get("/admin/mailbox").status_code == 403
        assert login(who).get(f"/admin/mailbox/{row.id}").status_code == 403
    app.config["MAIL_BACKEND"] = "smtp"
    assert admin.get("/admin/mailbox").status_code == 404
    assert admin.get(f"/admin/mailbox/{row.id}").status_code == 404
    assert "Development mailbox" not in admin.get("/admin/mail").text
