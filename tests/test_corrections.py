"""Corrections of assessments and measures, never silent; wrong entries withdrawn with a
reason, kept in view, and counted nowhere."""

from __future__ import annotations

import datetime as dt
import json
import re

from builders import assess, dossier_in, officer, org
from conftest import csrf_from
from sqlalchemy import select

from dossiers import corrections, figures, measures
from dossiers.clock import today
from dossiers.extensions import db
from dossiers.models import (
    AuditEvent,
    Dossier,
    DossierState,
    Measure,
    MeasureStatus,
    ThreatAssessment,
)
from dossiers.refusals import Refused


def form_values(html: str) -> dict[str, str]:
    """The hidden fields and current values a browser would send back."""
    values = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    values.update(
        (name, value)
        for name, value in re.findall(
            r'<select[^>]*name="([^"]+)".*?<option[^>]*selected[^>]*value="([^"]*)"', html, re.S
        )
    )
    return values


def timeline(page: str) -> str:
    return page[page.index('class="timeline') :]


def assessment_form(assessment: ThreatAssessment, **changes) -> dict[str, str]:
    data = {
        "source": assessment.source.value,
        "level": str(assessment.level),
        "person_id": "",
        "assessed_on": assessment.assessed_on.isoformat(),
        "review_on": assessment.review_on.isoformat() if assessment.review_on else "",
        "summary": assessment.summary,
    }
    return data | changes


def test_an_officer_corrects_an_assessment_and_the_timeline_says_from_what_to_what(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)
        assessment = dossier.assessments[0]
        reference, url = dossier.reference, f"/dossiers/{dossier.reference}/assessments"
        url = f"{url}/{assessment.id}/edit"
        sent = assessment_form(assessment, level="2", summary="Letters\nand a call")
    session = login("officer")
    page = session.get(url).text
    assert form_values(page)["version"] == "1" and "Threat letters" in page
    sent |= {"version": "1", "seen": form_values(page)["seen"]}
    response = session.post(url, data=sent, follow_redirects=True)
    assert "Assessment corrected." in response.text
    history = timeline(response.text)
    assert "Threat assessment corrected" in history
    assert "level 3 – serious → 2 – medium; summary changed" in re.sub(r"\s+", " ", history)
    with app.app_context():
        corrected = db.session.get(ThreatAssessment, assessment.id)
        assert (corrected.level, corrected.summary) == (2, "Letters\nand a call")
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "assessment.correct")
        ).one()
        # The trail keeps the level's before and after, never the summary's words.
        assert event.detail_json["changes"] == {"level": [3, 2], "summary": None}
        assert "Letters" not in event.detail
        assert db.session.scalars(select(Dossier)).one().reference == reference


def test_the_timeline_names_the_level_before_and_after(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)
        assessment = dossier.assessments[0]
        corrections.correct_assessment(
            assessment,
            **{
                "source": assessment.source,
                "level": 1,
                "assessed_on": assessment.assessed_on,
                "review_on": None,
                "summary": assessment.summary,
                "person": None,
            },
            actor=officer(),
        )
        db.session.commit()
        reference = dossier.reference
    session = login("officer")
    history = re.sub(r"\s+", " ", timeline(session.get(f"/dossiers/{reference}").text))
    assert "Threat assessment corrected: level 3 – serious → 1 – low" in history
    session.post("/language", data={"language": "fr"})
    # Only ASCII white space folded: French punctuation keeps its no-break space.
    history = re.sub(r"[ \t\r\n]+", " ", timeline(session.get(f"/dossiers/{reference}").text))
    assert "Évaluation de la menace corrigée\u00a0: niveau 3 – grave → 1 – faible" in history


def test_a_correction_over_a_stale_page_is_refused_and_changes_nothing(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)
        assessment = dossier.assessments[0]
        url = f"/dossiers/{dossier.reference}/assessments/{assessment.id}/edit"
    mine, colleague = login("officer"), login("officer")
    page = mine.get(url).text
    stale = form_values(page)
    theirs = form_values(colleague.get(url).text)
    with app.app_context():
        sent = assessment_form(db.session.get(ThreatAssessment, assessment.id))
    colleague.post(
        url, data=sent | {"level": "4", "version": theirs["version"], "seen": theirs["seen"]}
    )
    refused = mine.post(
        url, data=sent | {"level": "1", "version": stale["version"], "seen": stale["seen"]}
    )
    assert refused.status_code == 200
    assert "since you opened the page" in refused.text
    with app.app_context():
        assert db.session.get(ThreatAssessment, assessment.id).level == 4


def test_a_correction_is_checked_like_a_new_entry_and_refused_at_its_field(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)
        assessment = dossier.assessments[0]
        url = f"/dossiers/{dossier.reference}/assessments/{assessment.id}/edit"
        sent = assessment_form(assessment)
    session = login("officer")
    hidden = form_values(session.get(url).text)
    sent |= {"version": hidden["version"], "seen": hidden["seen"]}
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    future = session.post(url, data=sent | {"assessed_on": tomorrow})
    assert "An assessment cannot be dated in the future." in future.text
    assert 'id="assessed_on"' in future.text and "is-invalid" in future.text
    unchanged = session.post(url, data=sent)
    assert "Nothing was changed" in unchanged.text
    with app.app_context():
        assert db.session.get(ThreatAssessment, assessment.id).assessed_on == assessment.assessed_on
        assert not db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "assessment.correct")
        ).all()


def _acknowledged_measure() -> tuple[Dossier, Measure]:
    dossier = dossier_in(DossierState.MEASURES_DECIDED)
    measure = dossier.measures[0]
    partner = db.session.scalars(
        select(db.metadata.tables["user_account"].c.id).where(
            db.metadata.tables["user_account"].c.email == "partner@test.example"
        )
    ).one()
    from dossiers.models import User

    measures.report_on_measure(
        measure, MeasureStatus.ACKNOWLEDGED, "", db.session.get(User, partner)
    )
    db.session.commit()
    return dossier, measure


def measure_form(measure: Measure, **changes) -> dict[str, str]:
    data = {
        "measure_type_id": str(measure.measure_type_id),
        "description": measure.description,
        "organisation_id": str(measure.organisation_id),
        "person_id": str(measure.person_id or ""),
        "start_date": measure.start_date.isoformat(),
        "end_date": measure.end_date.isoformat() if measure.end_date else "",
    }
    return data | changes


def test_moving_a_decided_measure_to_another_partner_sends_it_to_them_as_requested(app, login):
    with app.app_context():
        dossier, measure = _acknowledged_measure()
        federal = org("Federal")
        url = f"/dossiers/{dossier.reference}/measures/{measure.id}/edit"
        sent = measure_form(measure, organisation_id=str(federal.id))
        local_name, federal_name = measure.organisation.name, federal.name
    partner = login("partner")  # of the local police zone
    assert partner.get(f"/measures/{measure.id}").status_code == 200
    session = login("officer")
    hidden = form_values(session.get(url).text)
    response = session.post(
        url,
        data=sent | {"version": hidden["version"], "seen": hidden["seen"]},
        follow_redirects=True,
    )
    assert "Measure corrected." in response.text
    history = re.sub(r"\s+", " ", timeline(response.text))
    assert f"partner {local_name} → {federal_name}" in history
    with app.app_context():
        moved = db.session.get(Measure, measure.id)
        assert moved.organisation.name == federal_name
        assert moved.status is MeasureStatus.REQUESTED  # the new partner acknowledges it
    assert partner.get(f"/measures/{measure.id}").status_code == 404


def test_new_instructions_go_back_to_the_partner_to_be_acknowledged(app, login):
    with app.app_context():
        dossier, measure = _acknowledged_measure()
        corrections.correct_measure(
            measure,
            measure_type=measure.measure_type,
            description="Fixed contact person, day and night",
            organisation=measure.organisation,
            person=None,
            start_date=measure.start_date,
            end_date=None,
            actor=officer(),
        )
        db.session.commit()
        assert measure.status is MeasureStatus.REQUESTED
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "measure.correct")
        ).one()
        assert json.loads(event.detail)["changes"] == {"description": None}
        assert "night" not in event.detail


def test_a_measure_cannot_be_corrected_to_end_before_it_starts(app, login):
    with app.app_context():
        dossier, measure = _acknowledged_measure()
        url = f"/dossiers/{dossier.reference}/measures/{measure.id}/edit"
        earlier = (measure.start_date - dt.timedelta(days=1)).isoformat()
        sent = measure_form(measure, end_date=earlier)
    session = login("officer")
    hidden = form_values(session.get(url).text)
    refused = session.post(url, data=sent | {"version": hidden["version"], "seen": hidden["seen"]})
    assert "A measure cannot end before it starts." in refused.text
    with app.app_context():
        assert db.session.get(Measure, measure.id).end_date is None


def test_a_withdrawn_measure_stays_in_view_leaves_its_partner_and_stops_counting(app, login):
    with app.app_context():
        dossier, measure = _acknowledged_measure()
        year = dossier.opened_on.year
        assert figures.headline_values(year)["tp_dossiers"] == 1
        url = f"/dossiers/{dossier.reference}/measures/{measure.id}/withdraw"
    session = login("officer")
    page = session.get(url).text
    hidden = form_values(page)
    empty = session.post(url, data={"reason": "  ", **hidden})
    assert "This field is required." in empty.text
    with app.app_context():
        assert db.session.get(Measure, measure.id).status is MeasureStatus.ACKNOWLEDGED
    response = session.post(
        url, data={"reason": "Entered in the wrong dossier", **hidden}, follow_redirects=True
    )
    assert "Measure withdrawn." in response.text
    assert "Entered in the wrong dossier" in response.text
    assert "Measure withdrawn" in timeline(response.text)
    with app.app_context():
        withdrawn = db.session.get(Measure, measure.id)
        assert withdrawn.status is MeasureStatus.WITHDRAWN and withdrawn.withdrawn_at
        assert figures.headline_values(year)["tp_dossiers"] == 0
    # A wrong entry is no longer the partner's at all: not listed, not readable.
    partner = login("partner")
    assert f'/measures/{measure.id}"' not in partner.get("/measures/").text
    assert f'/measures/{measure.id}"' not in partner.get("/measures/?show=lifted").text
    assert partner.get(f"/measures/{measure.id}").status_code == 404
    with app.app_context():
        version = str(db.session.get(Measure, measure.id).version)
    seen = form_values(session.get(f"/dossiers/{dossier.reference}").text)["seen"]
    lift = session.post(  # as a page opened before the withdrawal would have let it
        f"/dossiers/{dossier.reference}/measures/{measure.id}/lift",
        data={"version": version, "seen": seen},
        follow_redirects=True,
    )
    assert "A withdrawn measure cannot be lifted." in lift.text
    with app.app_context():
        assert db.session.get(Measure, measure.id).status is MeasureStatus.WITHDRAWN
    again = session.get(url)
    assert again.status_code == 200
    refused = session.post(url, data={"reason": "Twice", **form_values(again.text)})
    assert "already withdrawn" in refused.text


def test_a_withdrawn_assessment_is_no_longer_the_current_one(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)  # level 3, on the opening day
        later = assess(dossier, today(), review_on=today() + dt.timedelta(days=30), level=4)
        db.session.commit()
        assert dossier.review_on == today() + dt.timedelta(days=30)
        url = f"/dossiers/{dossier.reference}/assessments/{later.id}/withdraw"
        reference, dossier_id = dossier.reference, dossier.id
    session = login("officer")
    assert (
        "4 – Very serious" in session.get("/dossiers/").text
        or "level-4" in session.get("/dossiers/").text
    )
    hidden = form_values(session.get(url).text)
    response = session.post(
        url, data={"reason": "Another person's note", **hidden}, follow_redirects=True
    )
    assert "Assessment withdrawn." in response.text
    assert "Another person&#39;s note" in response.text
    listing = session.get("/dossiers/").text
    assert "level-4" not in listing and "level-3" in listing
    with app.app_context():
        dossier = db.session.get(Dossier, dossier_id)
        assert dossier.current_assessment.level == 3
        assert dossier.review_on is None  # the current assessment has no review date
    edit = session.get(f"/dossiers/{reference}/assessments/{later.id}/edit").text
    refused = session.post(
        f"/dossiers/{reference}/assessments/{later.id}/edit",
        data={
            "source": "ocam",
            "level": "2",
            "assessed_on": today().isoformat(),
            "summary": "x",
            "version": form_values(edit)["version"],
            "seen": form_values(edit)["seen"],
        },
    )
    assert "A withdrawn assessment cannot be corrected." in refused.text


def test_an_id_of_another_dossiers_entry_is_404(app, login):
    with app.app_context():
        mine, other = dossier_in(DossierState.ASSESSMENT), dossier_in(DossierState.ASSESSMENT)
        paths = [
            f"/dossiers/{mine.reference}/assessments/{other.assessments[0].id}/edit",
            f"/dossiers/{mine.reference}/assessments/{other.assessments[0].id}/withdraw",
            f"/dossiers/{mine.reference}/measures/{other.measures[0].id}/edit",
            f"/dossiers/{mine.reference}/measures/{other.measures[0].id}/withdraw",
        ]
    session = login("officer")
    for path in paths:
        assert session.get(path).status_code == 404, path
        assert session.post(path, data={"reason": "x"}).status_code == 404, path


def test_the_forms_carry_their_csrf_token(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)
        url = f"/dossiers/{dossier.reference}/measures/{dossier.measures[0].id}/withdraw"
    assert csrf_from(login("officer").get(url).text)


def test_a_measure_its_partner_reported_on_does_not_move_to_another_partner(app, user):
    with app.app_context():
        dossier, measure = _acknowledged_measure()
        measures.report_on_measure(
            measure, MeasureStatus.IN_EXECUTION, "Patrol at 22:00, nothing seen", user("partner")
        )
        db.session.commit()
        try:
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
        except Refused as refused:
            assert refused.field == "organisation_id"
        else:
            raise AssertionError("the partner's report would have reached another partner")
        db.session.rollback()
        assert db.session.get(Measure, measure.id).organisation.name.startswith("Police zone")
