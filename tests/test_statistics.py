"""The counting rules on small hand-built data sets, one test per edge, and the bound
on the number of queries."""

import datetime as dt
import re

import pytest
from builders import assess, measure_type, new_dossier, officer, org

from dossiers import casework, figures, measures, report, workflow
from dossiers.extensions import db
from dossiers.models import AssessmentSource, DossierKind, Event, EventKind, Person, VipCategory


def decided_tp(opened, names=("Jan Peeters",), measure_start=None, for_person=None, persons=None):
    """A threatened-person dossier opened on `opened` with one decided measure."""
    dossier = new_dossier(opened_on=opened)
    for person in persons or []:
        casework.link_person(dossier, person, officer())
    for name in names:
        casework.add_new_person(dossier, name=name, function="Mayor", actor=officer())
    workflow.transition(dossier, "start_assessment", officer())
    assess(dossier, opened, level=2)
    measures.add_measure(
        dossier,
        measure_type=measure_type(),
        description="d",
        organisation=org("Police zone"),
        start_date=measure_start or opened,
        end_date=None,
        actor=officer(),
        person=dossier.persons[for_person] if for_person is not None else None,
    )
    workflow.transition(dossier, "decide_measures", officer())
    db.session.commit()
    return dossier


def event(kind=EventKind.EUROPEAN_SUMMIT, start=dt.date(2023, 6, 1), name="European Council"):
    e = Event(name=name, kind=kind, start_date=start, end_date=start, place="Brussels")
    db.session.add(e)
    db.session.commit()
    return e


def vip_dossier(at, delegates, measure_for=None, decide=True, period=None):
    """A VIP dossier for the event, its delegates protected by one measure (for one of them,
    or the whole delegation), over the event's days or the `period` given."""
    start, end = period or (at.start_date, at.end_date)
    dossier = new_dossier(
        DossierKind.VIP_PROTECTION, opened_on=at.start_date - dt.timedelta(days=20)
    )
    casework.set_event(dossier, at, officer())
    for person in delegates:
        casework.link_person(dossier, person, officer())
    workflow.transition(dossier, "start_assessment", officer())
    if decide:
        casework.record_assessment(
            dossier,
            source=AssessmentSource.OCAM,
            level=2,
            assessed_on=dossier.opened_on,
            review_on=None,
            summary="s",
            actor=officer(),
        )
        measures.add_measure(
            dossier,
            measure_type=measure_type("close_protection"),
            description="d",
            organisation=org("Federal Police DAP"),
            start_date=start,
            end_date=end,
            actor=officer(),
            person=measure_for,
        )
        casework.record_approval(dossier, on=dossier.opened_on, reference="BiZa/1", actor=officer())
        workflow.transition(dossier, "decide_measures", officer())
    db.session.commit()
    return dossier


def vips(*categories):
    people = [
        Person(name=f"VIP {i}", function="Leader", category=c, country="X")
        for i, c in enumerate(categories)
    ]
    db.session.add_all(people)
    db.session.commit()
    return people


def year_figures(year):
    return figures.headline_values(year)


def test_december_dossier_with_a_january_measure_counts_in_its_opening_year_only(app):
    with app.app_context():
        decided_tp(dt.date(2023, 12, 20), measure_start=dt.date(2024, 1, 5))
        assert year_figures(2023)["tp_dossiers"] == 1
        assert year_figures(2024)["tp_dossiers"] == 0


def test_a_dossier_closed_without_measures_does_not_count(app):
    with app.app_context():
        dossier = new_dossier(opened_on=dt.date(2023, 3, 1))
        casework.add_new_person(dossier, name="A", function="Judge", actor=officer())
        workflow.transition(dossier, "close_without_measures", officer(), "No threat")
        db.session.commit()
        assert year_figures(2023)["tp_dossiers"] == 0
        assert year_figures(2023)["tp_persons"] == 0


def test_a_draft_measure_that_was_never_decided_does_not_count(app):
    with app.app_context():
        dossier = new_dossier(opened_on=dt.date(2023, 3, 1))
        casework.add_new_person(dossier, name="A", function="Judge", actor=officer())
        workflow.transition(dossier, "start_assessment", officer())
        measures.add_measure(
            dossier,
            measure_type=measure_type(),
            description="d",
            organisation=org("Police zone"),
            start_date=dossier.opened_on,
            end_date=None,
            actor=officer(),
        )
        workflow.transition(dossier, "close_without_measures", officer(), "Not needed after all")
        db.session.commit()
        assert year_figures(2023)["tp_dossiers"] == 0


def test_a_person_in_two_dossiers_counts_once(app):
    with app.app_context():
        first = decided_tp(dt.date(2023, 2, 1), names=("Marie Dubois",))
        decided_tp(dt.date(2023, 9, 1), names=(), persons=[first.persons[0]])
        assert year_figures(2023)["tp_dossiers"] == 2
        assert year_figures(2023)["tp_persons"] == 1


def test_a_measure_for_one_person_of_a_family_dossier(app):
    with app.app_context():
        decided_tp(dt.date(2023, 4, 1), names=("Mother", "Father", "Child"), for_person=0)
        # The dossier has a measure: all its persons are persons of those dossiers.
        assert year_figures(2023)["tp_dossiers"] == 1
        assert year_figures(2023)["tp_persons"] == 3


def test_a_reopened_dossier_counts_once_in_its_opening_year(app):
    with app.app_context():
        dossier = decided_tp(dt.date(2023, 5, 1))
        workflow.transition(dossier, "close", officer(), "Calm", at=dt.datetime(2023, 8, 1))
        workflow.transition(dossier, "reopen", officer(), "New threat", at=dt.datetime(2024, 2, 1))
        measures.add_measure(
            dossier,
            measure_type=measure_type("patrols"),
            description="d",
            organisation=org("Police zone"),
            start_date=dt.date(2024, 2, 2),
            end_date=None,
            actor=officer(),
        )
        workflow.transition(dossier, "decide_measures", officer(), at=dt.datetime(2024, 2, 2))
        db.session.commit()
        assert year_figures(2023)["tp_dossiers"] == 1
        assert year_figures(2024)["tp_dossiers"] == 0
        by_state = figures.breakdown_values("tp_by_state", 2023)
        assert by_state == {"closed": 1}  # its state on 31 December 2023


def test_a_vip_at_two_events_is_two_attendances(app):
    with app.app_context():
        (leader,) = vips(VipCategory.HEAD_OF_STATE)
        vip_dossier(event(start=dt.date(2023, 3, 23)), [leader])
        vip_dossier(event(start=dt.date(2023, 6, 29)), [leader])
        values = year_figures(2023)
        assert values["protected_attendances"] == 2
        assert values["heads_of_state_or_government"] == 2
        assert values["european_summits"] == 2


SUMMIT_DAYS = (dt.date(2023, 6, 29), dt.date(2023, 6, 30))
DAY = dt.timedelta(days=1)


def three_day_summit():
    e = event(start=SUMMIT_DAYS[0])
    e.end_date = SUMMIT_DAYS[1] + DAY
    db.session.commit()
    return e


@pytest.mark.parametrize(
    ("period", "counted"),
    [
        ((SUMMIT_DAYS[0] - 10 * DAY, SUMMIT_DAYS[0] - DAY), 0),  # ended the day before
        ((SUMMIT_DAYS[1] + 2 * DAY, None), 0),  # starts the day after the last day
        ((SUMMIT_DAYS[0] - 10 * DAY, SUMMIT_DAYS[0]), 1),  # ends on the first day
        ((SUMMIT_DAYS[1] + DAY, None), 1),  # starts on the last day, no end
        ((SUMMIT_DAYS[0] - 10 * DAY, None), 1),  # in force throughout
    ],
)
def test_a_vip_counts_when_a_measure_is_in_force_on_a_day_of_the_event(app, period, counted):
    with app.app_context():
        (leader,) = vips(VipCategory.HEAD_OF_STATE)
        vip_dossier(three_day_summit(), [leader], period=period)
        values = year_figures(2023)
        assert values["protected_attendances"] == counted
        assert values["european_summits"] == counted


def test_a_whole_delegation_measure_protects_every_delegate_during_the_event(app):
    with app.app_context():
        delegates = vips(VipCategory.HEAD_OF_STATE, VipCategory.MINISTER, VipCategory.OTHER)
        vip_dossier(three_day_summit(), delegates, measure_for=None)
        assert year_figures(2023)["protected_attendances"] == 3


def test_a_measure_lifted_after_the_event_still_counts_and_one_lifted_before_does_not(app):
    with app.app_context():
        first, second = vips(VipCategory.HEAD_OF_STATE, VipCategory.HEAD_OF_STATE)
        summit = three_day_summit()
        after = vip_dossier(summit, [first], period=(SUMMIT_DAYS[0] - 5 * DAY, None))
        before = vip_dossier(summit, [second], period=(SUMMIT_DAYS[0] - 5 * DAY, None))
        measures.lift_measure(after.measures[0], officer(), on=SUMMIT_DAYS[1] + 5 * DAY)
        measures.lift_measure(before.measures[0], officer(), on=SUMMIT_DAYS[0] - 2 * DAY)
        db.session.commit()
        assert year_figures(2023)["protected_attendances"] == 1
        population = figures.FIGURES["protected_attendances"].rows(2023)
        assert [r.person_id for r in db.session.execute(population)] == [first.id]


def test_an_event_without_a_protected_vip_does_not_count(app):
    with app.app_context():
        (minister,) = vips(VipCategory.MINISTER)
        vip_dossier(event(EventKind.EU_MINISTERIAL_COUNCIL), [minister], decide=False)
        values = year_figures(2023)
        assert values["ministerial_councils"] == 0
        assert values["protected_attendances"] == 0


def test_a_measure_for_one_delegate_protects_that_delegate_only(app):
    with app.app_context():
        head, minister, adviser = vips(
            VipCategory.HEAD_OF_GOVERNMENT, VipCategory.MINISTER, VipCategory.OTHER
        )
        vip_dossier(
            event(EventKind.NATO_MINISTERIAL), [head, minister, adviser], measure_for=minister
        )
        values = year_figures(2023)
        assert values["ministerial_councils"] == 1
        assert values["protected_attendances"] == 1
        assert values["heads_of_state_or_government"] == 0


def test_open_on_a_date(app):
    with app.app_context():
        dossier = decided_tp(dt.date(2023, 5, 1), names=("A", "B"))
        workflow.transition(dossier, "close", officer(), "Calm", at=dt.datetime(2023, 8, 1))
        db.session.commit()
        assert figures.open_on(dt.date(2023, 4, 30)) == {"open_dossiers": 0, "open_persons": 0}
        assert figures.open_on(dt.date(2023, 7, 31)) == {"open_dossiers": 1, "open_persons": 2}
        assert figures.open_on(dt.date(2023, 8, 1)) == {"open_dossiers": 0, "open_persons": 0}


def test_level_at_year_end_is_the_latest_assessment_dated_by_then(app):
    with app.app_context():
        dossier = decided_tp(dt.date(2023, 5, 1))  # level 2 on 1 May
        casework.record_assessment(
            dossier,
            source=AssessmentSource.OCAM,
            level=4,
            assessed_on=dt.date(2024, 1, 10),
            review_on=None,
            summary="s",
            actor=officer(),
        )
        db.session.commit()
        assert figures.breakdown_values("tp_by_level", 2023) == {2: 1}


def test_the_report_runs_the_same_number_of_queries_whatever_the_data(app, count_queries):
    with app.app_context():  # each build in a context of its own, as each request has
        decided_tp(dt.date(2023, 5, 1))
        with count_queries() as small:
            report.build(2023, dt.date(2023, 12, 31))
    with app.app_context():
        for day in range(1, 25):
            decided_tp(dt.date(2023, 1, day), names=("A", "B"))
        (leader,) = vips(VipCategory.HEAD_OF_STATE)
        vip_dossier(event(), [leader])
        with count_queries() as large:
            built = report.build(2023, dt.date(2023, 12, 31))
        assert built.figures["tp_dossiers"].value == 25
        assert large() == small()


def test_the_drill_down_runs_the_same_number_of_queries_whatever_its_length(
    app, login, count_queries
):
    session = login("officer")
    with app.app_context():
        decided_tp(dt.date(2023, 5, 1))
    with count_queries() as short:
        assert session.get("/statistics/2023/figures/tp_persons").status_code == 200
    with app.app_context():
        for day in range(1, 20):
            decided_tp(dt.date(2023, 1, day), names=("A", "B"))
    with count_queries() as long:
        page = session.get("/statistics/2023/figures/tp_persons").text
    assert page.count("<tr>") == 1 + 39
    assert long() == short()


def test_unknown_figures_groups_and_years_are_404(app, login):
    with app.app_context():
        decided_tp(dt.date(2023, 5, 1))
    session = login("analyst")
    for url in (
        "/statistics/2023/figures/nope",
        "/statistics/2023/figures/tp_by_month",
        "/statistics/2023/figures/tp_by_month?group=x",
        "/statistics/1999",
        "/statistics/2023/charts/tp_dossiers.svg",
        "/statistics/2023/report.doc",
        "/statistics/1999/figures/tp_dossiers",
    ):
        assert session.get(url).status_code == 404, url
    assert session.get("/statistics/2023?on=not-a-date").status_code == 200


def test_figures_are_counted_once_per_change_of_the_data(app, login, count_queries):
    """The report page reuses its figures while only reads happen, and counts afresh in
    the request after any change, so it never shows figures older than the data."""
    session = login("analyst")
    with app.app_context():
        first = decided_tp(dt.date(2023, 5, 1)).reference
    with count_queries() as cold:
        assert ">1<" in session.get("/statistics/2023").text
    with count_queries() as warm:
        session.get("/statistics/2023")
    assert warm() < cold() - 10  # the report's own queries are not run again
    login("officer").get(f"/dossiers/{first}")  # a read changes nothing
    with count_queries() as after_a_read:
        session.get("/statistics/2023")
    assert after_a_read() == warm()
    with app.app_context():
        decided_tp(dt.date(2023, 6, 1))
    page = session.get("/statistics/2023").text
    assert re.search(r'figures/tp_dossiers"[^>]*>2<', page)
    chart = session.get("/statistics/2023/charts/tp_by_month.svg").text
    assert "figures/tp_by_month?group=6" in chart
