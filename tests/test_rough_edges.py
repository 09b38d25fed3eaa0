"""What a new user tripped over: stored codes in the timeline, times off the centre's
clock, lost line breaks."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from builders import dossier_in, officer

from dossiers import casework, measures
from dossiers.extensions import db
from dossiers.models import DossierState, MeasureStatus


def test_the_timeline_names_a_partners_report_in_the_readers_words(app, login, user):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        measure = dossier.measures[0]
        measures.report_on_measure(measure, MeasureStatus.ACKNOWLEDGED, "", user("partner"))
        measures.report_on_measure(measure, MeasureStatus.IN_EXECUTION, "On it", user("partner"))
        db.session.commit()
        reference = dossier.reference
    session = login("officer")
    for language, words in (
        ("en", "Partner report on a measure: In execution"),
        ("nl", "In uitvoering"),
        ("fr", "En exécution"),
    ):
        session.post("/language", data={"language": language})
        page = session.get(f"/dossiers/{reference}").text
        timeline = page[page.index('class="timeline') :]
        assert words in timeline, language
        assert "in_execution" not in timeline and "acknowledged<" not in timeline


def test_an_execution_note_is_stamped_on_the_centres_clock(app, login, user):
    # 19:57 UTC on 29 November is 20:57 in Brussels.
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        measure = dossier.measures[0]
        measures.report_on_measure(measure, MeasureStatus.ACKNOWLEDGED, "", user("partner"))
        with time_machine.travel(dt.datetime(2026, 11, 29, 19, 57, tzinfo=dt.UTC), tick=False):
            measures.report_on_measure(
                measure, MeasureStatus.IN_EXECUTION, "Patrol passed", user("partner")
            )
        db.session.commit()
        assert measure.execution_note == "[29/11/2026 20:57] Patrol passed"
        reference = dossier.reference
    assert "[29/11/2026 20:57] Patrol passed" in login("officer").get(f"/dossiers/{reference}").text


def test_an_assessment_summary_keeps_its_lines(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)
        casework.record_assessment(
            dossier,
            source=dossier.assessments[0].source,
            level=3,
            assessed_on=dossier.opened_on,
            review_on=None,
            summary="First letter in May.\nSecond letter in June.",
            actor=officer(),
        )
        db.session.commit()
        reference = dossier.reference
    page = login("officer").get(f"/dossiers/{reference}").text
    assert (
        '<p class="small mb-1 keep-lines">First letter in May.\nSecond letter in June.</p>' in page
    )
    css = app.test_client().get("/static/app.css").text
    assert ".keep-lines { white-space: pre-line; }" in css


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("en", "1 NATO summit", "2 protected VIP attendances"),
        ("nl", "1 NAVO-top", "2 beschermde VIP-deelnames"),
        ("fr", "1 sommet de l’OTAN", "2 participations de VIP protégés"),
    ],
)
def test_counts_agree_with_their_nouns(app, login, language, one, two):
    from test_statistics import event, vip_dossier, vips

    from dossiers.models import EventKind, VipCategory

    with app.app_context():
        summit = event(EventKind.NATO_SUMMIT, dt.date(2023, 7, 11), "NATO summit")
        vip_dossier(summit, vips(VipCategory.HEAD_OF_STATE, VipCategory.MINISTER))
    session = login("analyst")
    session.post("/language", data={"language": language})
    heading = re.compile(r"<h1[^>]*>([^<]*)</h1>")
    summits = session.get("/statistics/2023/figures/nato_summits").text
    assert heading.search(summits).group(1) == one
    attendances = session.get("/statistics/2023/figures/protected_attendances").text
    assert heading.search(attendances).group(1) == two
    year = session.get("/statistics/2023").text
    assert one.removeprefix("1 ") in year and one.removeprefix("1 ") + "s<" not in year


@pytest.mark.parametrize("url", ["/dossiers/?year=abc", "/events/?year=abc", "/events/?year=٢٠٢٤"])
def test_a_year_that_is_no_year_gets_one_message(app, login, url):
    page = login("officer").get(url)
    assert page.status_code == 200
    assert page.text.count("Give a year of four digits.") == 1
    assert "Number must be between" not in page.text and "Not a valid integer" not in page.text


def test_a_change_from_last_year_is_not_coloured_good_or_bad(app, login):
    import re as regex

    css = app.test_client().get("/static/app.css").text
    rule = regex.search(r"\.change\.up, \.change\.down \{ color: ([^;]+); \}", css)
    assert rule and rule.group(1) == "var(--nccn-navy)"  # one colour for more and for fewer
    assert not regex.search(r"^\.change\.(up|down) \{", css, regex.M)  # no colour of its own


def test_the_statistics_list_the_years_with_data_and_open_every_year_between(app, login):
    from builders import new_dossier

    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC), tick=False):
        with app.app_context():
            new_dossier(opened_on=dt.date(2024, 3, 1))  # nothing in 2025
        session = login("analyst")
        index = session.get("/statistics/").text
        assert "2026" in index and "2024" in index and "2025" not in index
        for year in (2024, 2025, 2026):
            assert session.get(f"/statistics/{year}").status_code == 200, year
        for year in (2023, 2027):
            assert session.get(f"/statistics/{year}").status_code == 404, year


FILTERS = ["/dossiers/?year=&kind=vip_protection", "/events/?year=&kind=nato_summit"]


@pytest.mark.parametrize("url", FILTERS)
def test_a_filter_without_a_year_filters_by_the_rest(app, login, url):
    page = login("officer").get(url)
    assert page.status_code == 200
    assert "Not a valid integer" not in page.text and "Give a year" not in page.text
    kind = url.rsplit("=", 1)[1]
    assert f'<option selected value="{kind}">' in page.text  # the filter kept, not dropped


def test_no_heads_of_state_reads_right_in_french(app, login):
    with app.app_context():
        from builders import new_dossier

        new_dossier(opened_on=dt.date(2023, 3, 1))
    analyst = login("analyst")
    analyst.post("/language", data={"language": "fr"})
    year = analyst.get("/statistics/2023").text
    assert "chef d’État ou de gouvernement parmi elles" in year  # 0 takes the singular in French
    officer = login("officer")
    officer.post("/language", data={"language": "fr"})
    assert "Sommet européen" in officer.get("/events/").text  # the kind, capitalised
