"""Dates that cannot be are refused next to their field, and nothing is written: an
assessment dated in the future, an approval in the future or after its event, a dossier
opened before the centre's first year; checked on both sides of a Brussels midnight."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from builders import dossier_in
from sqlalchemy import func, select

from dossiers.extensions import db
from dossiers.models import Dossier, DossierKind, DossierState, Event, EventKind, ThreatAssessment


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def error_of(page: str, field: str) -> str:
    """The message shown under one field of a re-rendered form."""
    found = re.search(rf'id="{field}-error">([^<]*)<', page)
    return html.unescape(found.group(1)) if found else ""


def assessments() -> int:
    return db.session.scalar(select(func.count()).select_from(ThreatAssessment)) or 0


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        (utc(2026, 3, 9, 22, 30), False),  # 23:30 on 9 March in Brussels: the 10th is tomorrow
        (utc(2026, 3, 9, 23, 30), True),  # 00:30 on the 10th: today
    ],
)
def test_an_assessment_dated_tomorrow_is_refused_at_its_date(app, login, now, accepted):
    with time_machine.travel(now, tick=False):
        with app.app_context():
            reference = dossier_in(DossierState.ASSESSMENT).reference
            before = assessments()
        answer = login("officer").post(
            f"/dossiers/{reference}/assessments/new",
            data={"source": "ocam", "level": "2", "assessed_on": "2026-03-10", "summary": "x"},
        )
        with app.app_context():
            if accepted:
                assert answer.status_code == 302 and assessments() == before + 1
            else:
                assert answer.status_code == 200
                assert error_of(answer.text, "assessed_on") == (
                    "An assessment cannot be dated in the future."
                )
                assert assessments() == before


def test_a_review_before_the_assessment_is_refused_at_the_review_date(app, login):
    with app.app_context():
        reference = dossier_in(DossierState.ASSESSMENT).reference
    answer = login("officer").post(
        f"/dossiers/{reference}/assessments/new",
        data={
            "source": "ocam",
            "level": "2",
            "assessed_on": "2024-05-10",
            "review_on": "2024-05-01",
            "summary": "x",
        },
    )
    assert error_of(answer.text, "review_on") == (
        "The review date cannot be before the assessment date."
    )


def vip_at_event(app, start: dt.date, end: dt.date) -> str:
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT, DossierKind.VIP_PROTECTION)
        event = Event(
            name="Summit",
            kind=EventKind.EUROPEAN_SUMMIT,
            start_date=start,
            end_date=end,
            place="Brussels",
        )
        db.session.add(event)
        dossier.event = event
        dossier.approval_date = None
        db.session.commit()
        return dossier.reference


def approval_of(app, reference: str) -> dt.date | None:
    with app.app_context():
        return db.session.scalar(
            select(Dossier.approval_date).where(Dossier.reference == reference)
        )


def test_an_approval_after_its_event_or_in_the_future_is_refused_at_its_date(app, login):
    with time_machine.travel(utc(2026, 6, 30, 10), tick=False):
        reference = vip_at_event(app, dt.date(2026, 6, 10), dt.date(2026, 6, 11))
        session = login("officer")
        form = session.get(f"/dossiers/{reference}/approval").text
        version = re.search(r'name="version"[^>]*value="(\d+)"', form).group(1)
        for day, message in (
            ("2026-06-12", "The approval cannot come after its event (it ended on 11/06/2026)."),
            ("2026-07-01", "An approval cannot be dated in the future."),
        ):
            answer = session.post(
                f"/dossiers/{reference}/approval",
                data={"approval_date": day, "approval_reference": "BiZa/1", "version": version},
            )
            assert error_of(answer.text, "approval_date") == message
            assert approval_of(app, reference) is None
        answer = session.post(
            f"/dossiers/{reference}/approval",
            data={
                "approval_date": "2026-06-11",
                "approval_reference": "BiZa/1",
                "version": version,
            },
        )
        assert answer.status_code == 302
        assert approval_of(app, reference) == dt.date(2026, 6, 11)  # its last day will do


def test_the_event_wide_approval_keeps_the_same_rule(app, login):
    with time_machine.travel(utc(2026, 6, 30, 10), tick=False):
        reference = vip_at_event(app, dt.date(2026, 6, 10), dt.date(2026, 6, 11))
        with app.app_context():
            event_id = db.session.scalar(
                select(Dossier.event_id).where(Dossier.reference == reference)
            )
        answer = login("officer").post(
            f"/events/{event_id}/approval",
            data={"approval_date": "2026-06-20", "approval_reference": "BiZa/2"},
        )
        assert "The approval cannot come after its event" in error_of(answer.text, "approval_date")
        assert approval_of(app, reference) is None


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31"])
def test_a_dossier_before_the_centres_first_year_is_refused_at_its_date(app, login, day):
    answer = login("officer").post(
        "/dossiers/new",
        data={"kind": "threatened_person", "title": "Old", "ground": "function", "opened_on": day},
    )
    assert answer.status_code == 200
    assert error_of(answer.text, "opened_on") in (
        "The centre's dossiers start in 2000: give a later date.",
        "Give a date between 01/01/1900 and 31/12/2199.",
    )
    with app.app_context():
        assert db.session.scalar(select(Dossier.id)) is None


def test_the_first_year_is_configured(app, login):
    app.config["FIRST_YEAR"] = 2010
    answer = login("officer").post(
        "/dossiers/new",
        data={
            "kind": "threatened_person",
            "title": "Old",
            "ground": "function",
            "opened_on": "2009-12-31",
        },
    )
    assert error_of(answer.text, "opened_on") == (
        "The centre's dossiers start in 2010: give a later date."
    )


def test_a_vip_dossier_asks_for_no_ground_and_refuses_one_given(app, login):
    session = login("officer")
    form = session.get("/dossiers/new").text
    assert 'class="ground-field"' in form  # hidden by the stylesheet once VIP is chosen
    answer = session.post(
        "/dossiers/new",
        data={
            "kind": "vip_protection",
            "title": "Summit",
            "ground": "function",
            "opened_on": "2024-05-01",
        },
    )
    assert error_of(answer.text, "ground") == (
        "A VIP protection dossier has no ground of threat: leave it empty."
    )
    opened = session.post(
        "/dossiers/new",
        data={"kind": "vip_protection", "title": "Summit", "ground": "", "opened_on": "2024-05-01"},
    )
    assert opened.status_code == 302


def test_an_event_moved_before_an_approval_of_its_delegation_is_refused(app, login):
    from dossiers import casework, events
    from dossiers.refusals import Refused

    with app.app_context():
        from builders import officer

        dossier = dossier_in(DossierState.ASSESSMENT, DossierKind.VIP_PROTECTION)
        event = dossier.event  # one day, the dossier's opening day; approved that day
        earlier = event.start_date - dt.timedelta(days=3)
        with pytest.raises(Refused) as refused:
            events.save_event(
                event,
                name=event.name,
                kind=event.kind,
                start_date=earlier,
                end_date=earlier,
                place=event.place,
                host=event.host,
                actor=officer(),
            )
        assert dossier.reference in str(refused.value) and refused.value.field == "end_date"
        db.session.rollback()
        past = Event(
            name="An earlier council",
            kind=EventKind.EU_MINISTERIAL_COUNCIL,
            start_date=earlier,
            end_date=earlier,
        )
        db.session.add(past)
        db.session.flush()
        with pytest.raises(Refused):  # approved after that event ended
            casework.set_event(dossier, past, officer())
        db.session.rollback()
        assert db.session.get(Dossier, dossier.id).event_id == event.id


def test_two_admins_adding_one_type_at_once_get_a_message_not_an_error(app, monkeypatch):
    from builders import measure_type

    from dossiers import reference
    from dossiers.models import User
    from dossiers.refusals import Refused

    with app.app_context():
        admin = db.session.scalars(select(User).where(User.email == "admin@test.example")).one()
        # The other admin's type landed between this one's checks and its write.
        monkeypatch.setattr(reference, "_new_code", lambda label: measure_type("patrols").code)
        with pytest.raises(Refused) as refused:
            reference.save_measure_type(
                None,
                label="Drone watch",
                label_nl="Dronebewaking",
                label_fr="Surveillance par drone",
                active=True,
                actor=admin,
            )
        assert refused.value.field == "label"
