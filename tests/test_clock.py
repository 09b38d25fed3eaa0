"""The centre's clock: dates a person reads or types are Brussels dates, times are
stored in UTC. Frozen on both sides of midnight (Brussels is an hour or two ahead of
UTC, so its new day starts while UTC is still on the old one) and across the
daylight-saving changes."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from builders import dossier_in, officer
from conftest import csrf_from
from sqlalchemy import select

from dossiers import audit, clock, figures, workflow
from dossiers.extensions import db
from dossiers.models import Dossier, DossierState


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "now, brussels_day",
    [
        (utc(2026, 12, 31, 22, 30), dt.date(2026, 12, 31)),  # 23:30 in Brussels
        (utc(2026, 12, 31, 23, 30), dt.date(2027, 1, 1)),  # 00:30 on New Year's Day
        (utc(2024, 3, 30, 22, 30), dt.date(2024, 3, 30)),  # 23:30, winter time (UTC+1)
        (utc(2024, 3, 31, 22, 30), dt.date(2024, 4, 1)),  # 00:30, summer time (UTC+2)
        (utc(2024, 10, 26, 22, 30), dt.date(2024, 10, 27)),  # 00:30, still summer time
        (utc(2024, 10, 27, 22, 30), dt.date(2024, 10, 27)),  # 23:30, winter time again
    ],
)
def test_today_is_the_brussels_date(now, brussels_day):
    with time_machine.travel(now, tick=False):
        assert clock.today() == brussels_day
        assert clock.date_of(clock.now_utc()) == brussels_day


def test_a_brussels_day_starts_at_its_own_midnight_in_utc():
    assert clock.start_of(dt.date(2027, 1, 1)) == dt.datetime(2026, 12, 31, 23, 0)
    assert clock.start_of(dt.date(2024, 7, 1)) == dt.datetime(2024, 6, 30, 22, 0)
    assert clock.end_of_year(2023) == dt.datetime(2023, 12, 31, 23, 0)


def new_dossier_form(session) -> tuple[str, str]:
    page = session.get("/dossiers/new").text
    default = re.search(r'name="opened_on"[^>]*value="([^"]*)"', page)
    assert default, "the form has no default date"
    return default.group(1), csrf_from(page)


def open_on(session, day: str):
    return session.post(
        "/dossiers/new",
        data={
            "kind": "threatened_person",
            "title": "Mayor",
            "ground": "function",
            "opened_on": day,
        },
    )


def test_just_after_midnight_on_new_years_day_a_dossier_opens_in_the_new_year(app, login):
    with time_machine.travel(utc(2026, 12, 31, 23, 30), tick=False):
        session = login("officer")
        default, _ = new_dossier_form(session)
        assert default == "2027-01-01"
        response = open_on(session, "2027-01-01")
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/dossiers/TP-2027-0001")


def test_just_before_midnight_the_new_year_is_still_the_future(app, login):
    with time_machine.travel(utc(2026, 12, 31, 22, 30), tick=False):
        session = login("officer")
        default, _ = new_dossier_form(session)
        assert default == "2026-12-31"
        refused = open_on(session, "2027-01-01")
        assert refused.status_code == 200
        assert "cannot be opened in the future" in refused.text
    with app.app_context():
        assert db.session.scalar(select(Dossier.id)) is None


def test_a_dossier_closed_just_after_midnight_counts_open_at_the_old_years_end(app):
    with app.app_context():
        with time_machine.travel(utc(2023, 6, 1, 9), tick=False):
            dossier = dossier_in(DossierState.MEASURES_DECIDED)
        # 00:30 on 1 January 2024 in Brussels, still 31 December in UTC.
        with time_machine.travel(utc(2023, 12, 31, 23, 30), tick=False):
            workflow.transition(dossier, "close", officer(), "Threat gone")
            db.session.commit()
        assert dossier.closed_on == dt.date(2024, 1, 1)
        by_state = figures.breakdown_values("tp_by_state", 2023)
        assert by_state == {DossierState.MEASURES_DECIDED.value: 1}


def test_a_dossier_closed_just_before_midnight_counts_closed_at_year_end(app):
    with app.app_context():
        with time_machine.travel(utc(2023, 6, 1, 9), tick=False):
            dossier = dossier_in(DossierState.MEASURES_DECIDED)
        with time_machine.travel(utc(2023, 12, 31, 22, 30), tick=False):  # 23:30 in Brussels
            workflow.transition(dossier, "close", officer(), "Threat gone")
            db.session.commit()
        assert dossier.closed_on == dt.date(2023, 12, 31)
        assert figures.breakdown_values("tp_by_state", 2023) == {DossierState.CLOSED.value: 1}


def test_the_audit_search_takes_brussels_days(app):
    with app.app_context():
        for at in (utc(2023, 12, 31, 22, 30), utc(2023, 12, 31, 23, 30)):
            with time_machine.travel(at, tick=False):
                audit.record("user.login", actor=officer(), object_type="user", object_id=None)
                db.session.commit()

        def found(**days) -> list[dt.datetime]:
            query = audit.search(audit.Criteria(action="user.login", **days))
            return [e.at for e in db.session.scalars(query)]

        assert found(until=dt.date(2023, 12, 31)) == [dt.datetime(2023, 12, 31, 22, 30)]
        assert found(since=dt.date(2024, 1, 1)) == [dt.datetime(2023, 12, 31, 23, 30)]


def test_assessment_and_measure_forms_default_to_the_brussels_date(app, login):
    with app.app_context():
        with time_machine.travel(utc(2026, 12, 30, 9), tick=False):
            reference = dossier_in(DossierState.ASSESSMENT).reference
    with time_machine.travel(utc(2026, 12, 31, 23, 30), tick=False):
        session = login("officer")
        for form in ("assessments/new", "measures/new"):
            page = session.get(f"/dossiers/{reference}/{form}").text
            assert re.search(r'type="date" value="2027-01-01"', page), form
