"""Mails through the outbox, to a real SMTP server running in the test process: written
with the change that causes them, sent once it is committed, retried while the server
is down, never with personal data."""

from __future__ import annotations

import datetime as dt
import socket
from email import message_from_bytes, policy

import pytest
import time_machine
from aiosmtpd.controller import Controller
from builders import dossier_in, officer, org
from sqlalchemy import select

from dossiers import corrections, measures, notifications, workflow
from dossiers.clock import now_utc
from dossiers.extensions import db
from dossiers.models import AuditEvent, DossierState, Notification, NotificationStatus


class Inbox:
    """An SMTP server's handler keeping every mail it accepts (or refusing them all)."""

    def __init__(self) -> None:
        self.mails: list = []
        self.refuse = False
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.refuse:
            return "451 Try again later"
        mail = message_from_bytes(envelope.content, policy=policy.default)
        self.mails.append((list(envelope.rcpt_tos), mail))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox(app):
    handler = Inbox()
    port = handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(
        MAIL_BACKEND="smtp",
        MAIL_HOST="127.0.0.1",
        MAIL_PORT=port,
        MAIL_SECURITY="none",
        MAIL_SENDER="Crisis Centre <noreply@nccn.example>",
        PUBLIC_URL="https://dossiers.nccn.example",
    )
    yield handler
    controller.stop()


def with_mailboxes(language: str = "fr") -> None:
    zone, federal = org("Police zone"), org("Federal")
    zone.mailbox, zone.language = "dispatch@zone.example", language
    federal.mailbox, federal.language = "dap@federal.example", "nl"
    db.session.commit()


def outbox() -> list[Notification]:
    return list(db.session.scalars(select(Notification).order_by(Notification.id)))


def test_a_decided_measure_mails_its_service_in_its_language_without_personal_data(app, inbox):
    with app.app_context():
        with_mailboxes("fr")
        dossier = dossier_in(DossierState.MEASURES_DECIDED)  # Jan Peeters, a local zone
        [row] = outbox()
        assert (row.kind, row.status) == ("measure.decided", NotificationStatus.PENDING)
        assert notifications.send_due() == (1, 0)
        [(recipients, mail)] = inbox.mails
        assert recipients == ["dispatch@zone.example"]
        text = mail.get_content()
        assert dossier.reference in mail["Subject"] and "mesure" in mail["Subject"].lower()
        assert f"https://dossiers.nccn.example/measures/{dossier.measures[0].id}" in text
        assert "Jan Peeters" not in text + mail["Subject"]
        assert "Fixed contact person" not in text  # the measure's description stays inside
        assert mail["Message-ID"] == f"<notification-{row.id}@dossiers.local>"
        assert db.session.get(Notification, row.id).status is NotificationStatus.SENT
        sent = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.sent")).one()
        assert sent.detail_json["organisation_id"] == org("Police zone").id
        assert notifications.send_due() == (0, 0)  # nothing twice
        assert len(inbox.mails) == 1


def test_a_change_rolled_back_sends_nothing(app, inbox):
    with app.app_context():
        with_mailboxes()
        dossier = dossier_in(DossierState.ASSESSMENT)
        workflow.transition(dossier, "decide_measures", officer())
        db.session.rollback()  # the decision is not kept: nor is its mail
        assert outbox() == []
        assert notifications.send_due() == (0, 0)
        assert inbox.mails == []


def test_a_server_refusing_or_down_is_tried_again_later_and_nothing_is_lost(app, inbox):
    with app.app_context():
        with_mailboxes()
        dossier_in(DossierState.MEASURES_DECIDED)
        inbox.refuse = True
        assert notifications.send_due() == (0, 1)
        [row] = outbox()
        assert row.status is NotificationStatus.PENDING and row.attempts == 1
        assert "SMTP" in row.last_error
        assert notifications.send_due() == (0, 0)  # not due again yet: it backs off
        inbox.refuse = False
        app.config["MAIL_PORT"] = free_port()  # now nobody listens at all
        with time_machine.travel(now_utc() + dt.timedelta(minutes=2), tick=False):
            assert notifications.send_due() == (0, 1)
        app.config["MAIL_PORT"] = inbox.port
        with time_machine.travel(now_utc() + dt.timedelta(minutes=10), tick=False):
            assert notifications.send_due() == (1, 0)
        assert len(inbox.mails) == 1
        assert db.session.get(Notification, row.id).status is NotificationStatus.SENT


def test_a_mail_refused_for_a_day_is_given_up_and_shown_as_such(app, inbox):
    with app.app_context():
        with_mailboxes()
        dossier_in(DossierState.MEASURES_DECIDED)
        inbox.refuse = True
        with time_machine.travel(now_utc() + dt.timedelta(hours=25), tick=False):
            assert notifications.send_due() == (0, 1)
        [row] = outbox()
        assert row.status is NotificationStatus.DEAD
        dead = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.dead")).one()
        assert dead.outcome == "failed"


def test_lifting_withdrawing_and_moving_a_measure_tell_the_services_concerned(app, inbox):
    with app.app_context():
        with_mailboxes()
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        measure = dossier.measures[0]
        corrections.correct_measure(
            measure,
            measure_type=measure.measure_type,
            description=measure.description,
            organisation=org("Federal"),
            person=None,
            start_date=measure.start_date,
            end_date=None,
            actor=officer(),
        )
        measures.lift_measure(measure, officer(), measure.start_date)
        db.session.commit()
        sent = [(row.kind, row.address, row.link) for row in outbox()]
        assert sent == [
            ("measure.decided", "dispatch@zone.example", f"/measures/{measure.id}"),
            ("measure.withdrawn", "dispatch@zone.example", "/measures/"),
            ("measure.decided", "dap@federal.example", f"/measures/{measure.id}"),
            ("measure.lifted", "dap@federal.example", "/measures/"),
        ]
        assert notifications.send_due() == (4, 0)
        subjects = [mail["Subject"] for _, mail in inbox.mails]
        assert subjects[1].startswith("Mesure de protection retirée")  # the zone: French
        assert subjects[3].startswith("Beschermingsmaatregel opgeheven")  # the DAP: Dutch


def test_a_service_without_a_mailbox_and_a_draft_are_not_mailed(app, inbox):
    with app.app_context():
        dossier_in(DossierState.ASSESSMENT)  # a draft: nobody is told
        assert outbox() == []
        dossier_in(DossierState.MEASURES_DECIDED)  # no mailbox set: nobody to tell
        assert outbox() == []


def test_the_notify_command_sends_what_is_due(app, inbox):
    # 06:00 in Brussels: before the digest hour, the decision's mail is all there is.
    with time_machine.travel(dt.datetime(2026, 1, 15, 5, 0, tzinfo=dt.UTC), tick=False):
        with app.app_context():
            with_mailboxes()
            dossier_in(DossierState.MEASURES_DECIDED)
        result = app.test_cli_runner().invoke(args=["notify"])
    assert result.exit_code == 0, result.output
    assert "Reminders made: 0; daily digests made: 0." in result.output
    assert "Mails sent: 1" in result.output
    assert len(inbox.mails) == 1


def test_two_senders_at_once_send_each_mail_once(app, inbox):
    """On PostgreSQL each row is claimed with FOR UPDATE SKIP LOCKED; SQLite runs one."""
    import threading

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("several senders at once are for PostgreSQL; SQLite runs one sender")
        with_mailboxes()
        for _ in range(12):
            dossier_in(DossierState.MEASURES_DECIDED)
        assert len(outbox()) == 12
    counts: list[tuple[int, int]] = []

    def sender() -> None:
        with app.app_context():
            counts.append(notifications.send_due())
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sent for sent, _ in counts) == 12
    assert len(inbox.mails) == 12
    assert len({mail["Message-ID"] for _, mail in inbox.mails}) == 12


def test_an_admin_chooses_the_language_of_a_services_mails(app, login):
    admin = login("admin")
    saved = admin.post(
        "/admin/organisations/new",
        data={
            "name": "Zone de police Mons",
            "kind": "local_police",
            "mailbox": "dispatch@mons.example",
            "language": "fr",
            "active": "y",
        },
        follow_redirects=True,
    )
    assert "Organisation saved." in saved.text
    refused = admin.post(
        "/admin/organisations/new",
        data={"name": "Zone X", "kind": "local_police", "language": "de", "active": "y"},
    )
    assert "Not a valid choice" in refused.text
    with app.app_context():
        mons = org("Zone de police Mons")
        assert (mons.mailbox, mons.language) == ("dispatch@mons.example", "fr")
