"""Events on their own pages: planning, the list (upcoming first), the month view, and an
event's delegations, VIPs, measures and coverage."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from builders import measure_type, new_dossier, officer, org
from conftest import plan_of
from sqlalchemy import select

from dossiers import casework, clock, events, figures, measures, workflow
from dossiers.clock import ZONE
from dossiers.extensions import db
from dossiers.models import AuditEvent, DossierKind, Event, EventKind, Person, VipCategory

SUMMIT = {
    "name": "European Council",
    "kind": "european_summit",
    "start_date": "2026-06-25",
    "end_date": "2026-06-26",
    "place": "Brussels, Europa building",
    "host": "Presidency of the Council",
}


def plan(kind=EventKind.EUROPEAN_SUMMIT, start=dt.date(2026, 6, 25), days=2, name="Summit"):
    event = Event(
        name=name,
        kind=kind,
        start_date=start,
        end_date=start + dt.timedelta(days=days - 1),
        place="Brussels",
        host="",
    )
    db.session.add(event)
    db.session.commit()
    return event


def delegation(event, size=2, measure_period=None, for_first_only=False, country="FR"):
    """A VIP dossier for the event with `size` delegates and one decided measure (for the
    whole delegation, or its first delegate), over the event's days unless told."""
    dossier = new_dossier(DossierKind.VIP_PROTECTION, opened_on=event.start_date, title=country)
    casework.set_event(dossier, event, officer())
    people = [
        Person(
            name=f"{country} VIP {i}",
            function="Minister",
            category=VipCategory.MINISTER,
            country=country,
        )
        for i in range(size)
    ]
    db.session.add_all(people)
    db.session.flush()
    for person in people:
        casework.link_person(dossier, person, officer())
    workflow.transition(dossier, "start_assessment", officer())
    start, end = measure_period or (event.start_date, event.end_date)
    measure = measures.add_measure(
        dossier,
        measure_type=measure_type("close_protection"),
        description="Close protection",
        organisation=org("Federal Police"),
        start_date=start,
        end_date=end,
        actor=officer(),
        person=people[0] if for_first_only else None,
    )
    measure.decided_at = dt.datetime(2026, 6, 1)
    db.session.commit()
    return dossier


def test_an_officer_plans_and_changes_an_event(app, login):
    officer_session = login("officer")
    response = officer_session.post("/events/new", data=SUMMIT)
    assert response.status_code == 302
    page = officer_session.get(response.headers["Location"]).text
    assert "European Council" in page and "Presidency of the Council" in page
    with app.app_context():
        event = db.session.scalars(select(Event)).one()
        event_id = event.id
    changed = officer_session.post(
        f"/events/{event_id}/edit", data={**SUMMIT, "place": "Brussels, Justus Lipsius"}
    )
    assert changed.status_code == 302
    with app.app_context():
        assert db.session.get(Event, event_id).place == "Brussels, Justus Lipsius"
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "event.create" in actions and "event.update" in actions


def test_an_event_cannot_end_before_it_starts_and_nothing_is_saved(app, login):
    response = login("officer").post("/events/new", data={**SUMMIT, "end_date": "2026-06-01"})
    assert response.status_code == 200
    assert "The event cannot end before it starts." in response.text
    with app.app_context():
        assert db.session.scalars(select(Event)).all() == []


def brussels(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


@pytest.mark.parametrize(("hour", "upcoming"), [(23, True), (0, False)])
def test_an_event_is_upcoming_until_its_last_day_ends_in_brussels(app, login, hour, upcoming):
    with app.app_context():
        plan(start=dt.date(2026, 6, 29), days=2, name="Ends on 30 June")
        plan(start=dt.date(2026, 8, 1), name="Later")
        plan(start=dt.date(2026, 7, 15), name="Sooner")
    moment = (
        brussels(dt.date(2026, 6, 30), 23, 30)
        if hour == 23
        else brussels(dt.date(2026, 7, 1), 0, 30)
    )
    with time_machine.travel(moment, tick=False):
        page = login("officer").get("/events/").text
    head, tail = page.split("Past events")
    assert ("Ends on 30 June" in head) is upcoming
    assert ("Ends on 30 June" in tail) is not upcoming
    assert head.index("Sooner") < head.index("Later")  # the soonest first


def test_the_list_filters_by_kind_and_year(app, login):
    with app.app_context():
        plan(EventKind.NATO_SUMMIT, dt.date(2025, 7, 8), name="NATO Summit 2025")
        plan(EventKind.EU_MINISTERIAL_COUNCIL, dt.date(2025, 3, 3), name="Council 2025")
        plan(EventKind.NATO_SUMMIT, dt.date(2024, 7, 9), name="NATO Summit 2024")
    page = login("officer").get("/events/?kind=nato_summit&year=2025").text
    assert "NATO Summit 2025" in page
    assert "Council 2025" not in page and "NATO Summit 2024" not in page


def test_the_month_view_shows_events_on_any_day_of_the_month(app, login):
    with app.app_context():
        plan(start=dt.date(2026, 6, 30), days=3, name="Across the months")
        plan(start=dt.date(2026, 8, 1), name="In August")
    session = login("officer")
    june, july = session.get("/events/month/2026/6").text, session.get("/events/month/2026/7").text
    assert "Across the months" in june and "Across the months" in july
    assert "In August" not in july
    assert session.get("/events/month/2026/13").status_code == 404
    assert session.get("/events/month/99999/1").status_code == 404


def test_the_event_page_shows_delegations_vips_measures_and_the_unprotected_first(app, login):
    with app.app_context():
        summit = plan()
        delegation(summit, size=2, country="FR")  # whole delegation protected
        delegation(summit, size=2, for_first_only=True, country="DE")  # one of two
        delegation(  # ended the day before the summit: not protected
            summit,
            size=1,
            measure_period=(dt.date(2026, 6, 1), dt.date(2026, 6, 24)),
            country="IT",
        )
        summit_id = summit.id
    page = login("officer").get(f"/events/{summit_id}").text
    assert "2 of 5 VIPs have no decided measure in force during the event." in page
    vips = page.split("VIPs and their measures")[1]
    unprotected = [vips.index("DE VIP 1"), vips.index("IT VIP 0")]
    protected = [vips.index("FR VIP 0"), vips.index("DE VIP 0")]
    assert max(unprotected) < min(protected)
    assert "whole delegation" in vips and "Federal Police DAP" in vips
    with app.app_context():
        assert "event.view" in db.session.scalars(select(AuditEvent.action)).all()


def test_the_event_page_runs_the_same_queries_whatever_the_event_holds(app, login, count_queries):
    with app.app_context():
        small, large = plan(name="Small"), plan(name="Large")
        delegation(small, size=1)
        for n in range(6):
            delegation(large, size=5, for_first_only=n % 2 == 0, country=f"C{n}")
        ids = small.id, large.id
    session = login("officer")
    counts = []
    for event_id in ids:
        with count_queries() as queries:
            assert session.get(f"/events/{event_id}").status_code == 200
        counts.append(queries())
    assert counts[0] == counts[1], counts


def test_the_overview_agrees_with_the_counting_rule(app):
    with app.app_context():
        summit = plan(start=dt.date(2023, 6, 29))
        delegation(summit, size=3, for_first_only=True)
        seen = events.overview(summit)
        counted = figures.headline_values(2023)["protected_attendances"]
        assert sum(vip.covered for vip in seen.vips) == counted == 1


def test_the_attendances_behind_the_figure_name_the_event_and_the_category(app, login):
    with app.app_context():
        summit = plan(start=dt.date(2023, 6, 29), name="European Council June 2023")
        delegation(summit, size=3, country="FR")
    analyst = login("analyst")
    page = analyst.get("/statistics/2023/figures/protected_attendances").text
    table = page.split("<tbody>")[1]
    assert table.count("European Council June 2023") == 3  # one line per attendance
    assert table.count("European summit") == 3 and table.count("Minister") == 3
    assert "FR VIP" not in page  # the analyst reads no names
    lines = analyst.get("/statistics/2023/figures/protected_attendances/rows.csv").text.splitlines()
    assert lines[0] == "reference,date,event,kind,category"
    assert lines[1].endswith(",European Council June 2023,European summit,Minister")
    officer_lines = (
        login("officer")
        .get("/statistics/2023/figures/protected_attendances/rows.csv")
        .text.splitlines()
    )
    assert officer_lines[0] == "reference,date,event,kind,category,person,function"


def summit_with_delegations(app):
    """A summit with three delegations ready but for the approval, one of them approved on
    its own dossier, and a fourth still in intake (nothing to decide yet)."""
    from builders import dossier_in

    from dossiers.models import DossierState

    with app.app_context():
        summit = plan(start=dt.date(2026, 6, 25))
        ready = [dossier_in(DossierState.ASSESSMENT, DossierKind.VIP_PROTECTION) for _ in range(3)]
        for dossier in ready:
            dossier.event = summit
            dossier.approval_date, dossier.approval_reference = None, None
        ready[2].approval_date, ready[2].approval_reference = dt.date(2026, 6, 1), "BiZa/own"
        intake = dossier_in(DossierState.INTAKE, DossierKind.VIP_PROTECTION)
        intake.event = summit
        db.session.commit()
        return summit.id, [d.id for d in [*ready, intake]]


def test_the_approval_is_recorded_once_for_the_event(app, login):
    summit_id, ids = summit_with_delegations(app)
    session = login("officer")
    with app.app_context():
        before = db.session.scalars(select(AuditEvent.action)).all().count("dossier.approval")
    response = session.post(
        f"/events/{summit_id}/approval",
        data={"approval_date": "2026-06-10", "approval_reference": "BiZa/2026/17"},
        follow_redirects=True,
    )
    assert "Approval recorded for:" in response.text
    assert "It has an approval of its own." in response.text
    with app.app_context():
        from dossiers.models import Dossier

        references = [db.session.get(Dossier, i).approval_reference for i in ids]
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert references == ["BiZa/2026/17", "BiZa/2026/17", "BiZa/own", "BiZa/2026/17"]
    assert actions.count("dossier.approval") - before == 3  # one per delegation approved
    refused = session.post(f"/events/{summit_id}/approval", data={"approval_date": "9999-12-31"})
    assert refused.status_code == 200 and "Give a date between" in refused.text


def test_several_delegations_move_in_one_step_each_checked_alone(app, login):
    from dossiers.models import Dossier, DossierState

    summit_id, ids = summit_with_delegations(app)
    session = login("officer")
    with app.app_context():
        for dossier_id in ids[:2]:  # the two without an approval of their own get one
            dossier = db.session.get(Dossier, dossier_id)
            dossier.approval_date, dossier.approval_reference = dt.date(2026, 6, 10), "BiZa/9"
        db.session.commit()
        versions = {i: db.session.get(Dossier, i).version for i in ids}
    data = {"name": "decide_measures", "dossier": [str(i) for i in ids]}
    data |= {f"version-{i}": str(v) for i, v in versions.items()}
    data[f"version-{ids[1]}"] = str(versions[ids[1]] - 1)  # that page was older
    response = session.post(f"/events/{summit_id}/step", data=data, follow_redirects=True)
    assert "Done (Decide measures):" in response.text
    assert "It changed since the page was shown" in response.text
    assert "is not possible while the dossier is in intake" in response.text
    with app.app_context():
        states = [db.session.get(Dossier, i).state for i in ids]
        refused = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "dossier.transition_refused")
        ).all()
    assert states == [
        DossierState.MEASURES_DECIDED,
        DossierState.ASSESSMENT,  # stale: left as it was
        DossierState.MEASURES_DECIDED,
        DossierState.INTAKE,
    ]
    assert {e.dossier_id for e in refused} == {ids[1], ids[3]}


def test_a_step_without_a_chosen_delegation_says_so(app, login):
    summit_id, _ = summit_with_delegations(app)
    response = login("officer").post(f"/events/{summit_id}/step", data={"name": "close"})
    assert response.status_code == 200
    assert "Choose at least one delegation." in response.text


def partner_summit(app):
    """A summit with two delegations whose measures go to the local zone (three, still
    requested), and one measure of the federal police: not the zone's to see."""
    from dossiers.models import Measure, MeasureStatus

    with app.app_context():
        summit = plan(start=dt.date(2026, 6, 25), name="Benelux summit")
        first = delegation(summit, size=2, country="NL")
        second = delegation(summit, size=1, country="LU")
        for dossier in (first, second):
            dossier.measures[0].organisation = org("Police zone")
        extra = measures.add_measure(
            first,
            measure_type=measure_type("patrols"),
            description="Patrols",
            organisation=org("Police zone"),
            start_date=summit.start_date,
            end_date=summit.end_date,
            actor=officer(),
        )
        extra.decided_at = dt.datetime(2026, 6, 1)
        federal = measures.add_measure(
            second,
            measure_type=measure_type("close_protection"),
            description="CANARY federal only",
            organisation=org("Federal Police"),
            start_date=summit.start_date,
            end_date=summit.end_date,
            actor=officer(),
        )
        federal.decided_at = dt.datetime(2026, 6, 1)
        db.session.commit()
        zone = db.session.scalars(
            select(Measure.id).where(
                Measure.organisation_id == org("Police zone").id,
                Measure.status == MeasureStatus.REQUESTED,
            )
        ).all()
        return summit.id, sorted(zone)


def test_a_partner_sees_its_measures_by_event_and_acknowledges_them_at_once(app, login):
    from conftest import csrf_from

    from dossiers.models import Measure, MeasureStatus

    summit_id, zone_ids = partner_summit(app)
    partner = login("partner")
    listing = partner.get("/measures/events/").text
    assert "Benelux summit" in listing
    page = partner.get(f"/measures/events/{summit_id}").text
    assert page.count('name="measure"') == 3 and "CANARY" not in page
    with app.app_context():  # one of them changed after the page was shown
        changed = db.session.get(Measure, zone_ids[0])
        changed.description = "Changed meanwhile"
        db.session.commit()
    form = {"seen": re.search(r'name="seen" value="(\d+)"', page).group(1)}
    for measure_id in zone_ids:
        form[f"version-{measure_id}"] = re.search(
            rf'name="version-{measure_id}" value="(\d+)"', page
        ).group(1)
    form["measure"] = [str(i) for i in zone_ids]
    form["csrf_token"] = csrf_from(page)
    response = partner.client.post(
        f"/measures/events/{summit_id}", data=form, follow_redirects=True
    )
    assert "Acknowledged: 2 measures." in response.text
    with app.app_context():
        statuses = [db.session.get(Measure, i).status for i in zone_ids]
        reports = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "measure.report")
        ).all()
    assert statuses[0] is MeasureStatus.REQUESTED  # refused: its page was stale
    assert statuses[1:] == [MeasureStatus.ACKNOWLEDGED, MeasureStatus.ACKNOWLEDGED]
    assert len(reports) == 2  # one audit event per measure
    # The federal police's partner sees its own measure there, never the zone's.
    dap_page = login("dap").get(f"/measures/events/{summit_id}").text
    assert dap_page.count('name="measure"') == 1 and "Patrols" not in dap_page


def test_an_event_without_a_measure_of_the_partner_is_not_found(app, login):
    with app.app_context():
        other = plan(name="Elsewhere")
        delegation(other, size=1)  # a measure of the federal police only
        other_id = other.id
    assert login("partner").get(f"/measures/events/{other_id}").status_code == 404
    assert login("partner").get("/measures/events/999999").status_code == 404
    assert "Elsewhere" not in login("partner").get("/measures/events/").text


def test_officers_keep_standard_measure_sets_per_category(app, login):
    from dossiers.models import StandardMeasure

    session = login("officer")
    with app.app_context():
        close, patrols = measure_type("close_protection").id, measure_type("patrols").id
        dap, zone = org("Federal Police").id, org("Police zone").id
    head = {"category": "head_of_state", "measure_type_id": close, "organisation_id": dap}
    assert session.post("/events/standard-measures", data=head).status_code == 302
    twice = session.post("/events/standard-measures", data=head)
    assert "has this measure for this partner already" in twice.text
    minister = {"category": "minister", "measure_type_id": patrols, "organisation_id": zone}
    session.post("/events/standard-measures", data=minister)
    page = session.get("/events/standard-measures").text
    assert "Federal Police DAP" in page and "Police zone" in page
    with app.app_context():
        line_id = db.session.scalars(
            select(StandardMeasure.id).where(StandardMeasure.category == "minister")
        ).one()
    session.post(f"/events/standard-measures/{line_id}/remove")
    with app.app_context():
        assert [s.category.value for s in db.session.scalars(select(StandardMeasure))] == [
            "head_of_state"
        ]
    assert login("partner").get("/events/standard-measures").status_code == 403


def test_the_standard_sets_are_applied_to_a_whole_event_once(app, login):
    from builders import dossier_in

    from dossiers.models import DossierState, Measure, StandardMeasure

    with app.app_context():
        db.session.add_all(
            [
                StandardMeasure(
                    category=VipCategory.HEAD_OF_STATE,
                    measure_type=measure_type("close_protection"),
                    organisation=org("Federal Police"),
                ),
                StandardMeasure(
                    category=VipCategory.MINISTER,
                    measure_type=measure_type("patrols"),
                    organisation=org("Police zone"),
                ),
            ]
        )
        summit = plan()
        open_delegation = dossier_in(DossierState.ASSESSMENT, DossierKind.VIP_PROTECTION)
        open_delegation.event = summit
        people = [
            Person(name=n, function="f", category=c, country="BE")
            for n, c in (
                ("Head", VipCategory.HEAD_OF_STATE),
                ("Minister", VipCategory.MINISTER),
                ("Adviser", VipCategory.OTHER),
            )
        ]
        db.session.add_all(people)
        db.session.flush()
        for person in people:
            casework.link_person(open_delegation, person, officer())
        waiting = dossier_in(DossierState.INTAKE, DossierKind.VIP_PROTECTION)
        waiting.event = summit
        waiting.persons[0].category = VipCategory.HEAD_OF_STATE
        db.session.commit()
        summit_id, open_id, waiting_id = summit.id, open_delegation.id, waiting.id
        before = len(open_delegation.measures)
    session = login("officer")
    first = session.post(f"/events/{summit_id}/standard-measures", follow_redirects=True)
    assert "2 standard measures added." in first.text
    assert "Measures are added while the dossier is in assessment" in first.text
    with app.app_context():
        added = db.session.scalars(
            select(Measure).where(Measure.dossier_id == open_id).order_by(Measure.id)
        ).all()[before:]
        assert [(m.person.name, m.measure_type.code, m.start_date) for m in added] == [
            ("Head", "close_protection", summit.start_date),
            ("Minister", "patrols", summit.start_date),
        ]
        waiting_measures = select(Measure).where(Measure.dossier_id == waiting_id)
        assert db.session.scalars(waiting_measures).all() == []
    again = session.post(f"/events/{summit_id}/standard-measures", follow_redirects=True)
    assert "no standard measure is missing" in again.text


def test_the_events_list_reads_the_not_yet_over_and_the_past_from_one_index(app, login):
    """At a hundred times the volume a year holds thousands of events: those not yet over
    are a short range of ix_event_end_date, the past a range read in its order."""
    with app.app_context():
        for days in (-400, -30, 10):
            start = clock.today() + dt.timedelta(days=days)
            db.session.add(
                Event(
                    name=f"Council {days}",
                    kind=EventKind.EU_MINISTERIAL_COUNCIL,
                    start_date=start,
                    end_date=start,
                    place="Brussels",
                )
            )
        db.session.commit()
    coming = plan_of(app, login, "officer", "/events/", "event.end_date >=")
    assert "ix_event_end_date" in coming, coming
    past = plan_of(app, login, "officer", "/events/", "ORDER BY event.end_date DESC")
    assert "ix_event_end_date" in past, past
    assert "TEMP B-TREE" not in past and "Sort" not in past, past
