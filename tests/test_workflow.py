"""The workflow as a table: every (state, transition) pair, guards, and no trace of
a refused transition."""

import pytest
from builders import dossier_in, new_dossier, officer, ready_to_decide, with_person
from sqlalchemy import func, select

from dossiers import workflow
from dossiers.extensions import db
from dossiers.models import (
    AuditEvent,
    DossierKind,
    DossierState,
    Measure,
    MeasureStatus,
    Transition,
    User,
)
from dossiers.refusals import Refused

S = DossierState

# The agreed workflow (README, ARCHITECTURE.md): (transition, from) -> to. Every pair
# not here is refused.
ALLOWED = {
    ("start_assessment", S.INTAKE): S.ASSESSMENT,
    ("decide_measures", S.ASSESSMENT): S.MEASURES_DECIDED,
    ("close_without_measures", S.INTAKE): S.CLOSED,
    ("close_without_measures", S.ASSESSMENT): S.CLOSED,
    ("reassess", S.MEASURES_DECIDED): S.ASSESSMENT,
    ("close", S.MEASURES_DECIDED): S.CLOSED,
    ("reopen", S.CLOSED): S.ASSESSMENT,
}
NAMES = sorted({name for name, _ in ALLOWED})


def history(dossier_id: int) -> tuple[int, int]:
    transitions = db.session.scalar(
        select(func.count()).select_from(Transition).where(Transition.dossier_id == dossier_id)
    )
    events = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.dossier_id == dossier_id)
    )
    return transitions, events


def test_the_table_is_the_design():
    assert {
        (rule.name, source): rule.target
        for rule in workflow.TRANSITIONS.values()
        for source in rule.sources
    } == ALLOWED


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("name", NAMES)
def test_every_state_and_transition(app, state, name):
    with app.app_context():
        dossier = dossier_in(state)
        before = history(dossier.id)
        expected = ALLOWED.get((name, state))
        if expected is None:
            with pytest.raises(Refused):
                workflow.transition(dossier, name, officer(), "a reason")
            db.session.rollback()
            assert db.session.get(type(dossier), dossier.id).state is state
            assert history(dossier.id) == before
        else:
            row = workflow.transition(dossier, name, officer(), "a reason")
            db.session.commit()
            assert dossier.state is expected
            assert (row.from_state, row.to_state, row.reason) == (state, expected, "a reason")
            transitions, events = history(dossier.id)
            assert transitions == before[0] + 1
            assert events == before[1] + 1


def refused(dossier, name, reason="", actor=None):
    before_state, before = dossier.state, history(dossier.id)
    with pytest.raises(Refused) as refusal:
        workflow.transition(dossier, name, actor or officer(), reason)
    db.session.rollback()
    assert db.session.get(type(dossier), dossier.id).state is before_state
    assert history(dossier.id) == before
    return str(refusal.value)


def test_start_assessment_needs_a_person(app):
    with app.app_context():
        dossier = new_dossier()
        assert "person" in refused(dossier, "start_assessment")


def test_vip_start_assessment_needs_the_event(app):
    with app.app_context():
        dossier = new_dossier(DossierKind.VIP_PROTECTION)
        from dossiers import casework

        casework.add_new_person(
            dossier, name="A. Leader", function="Prime minister", actor=officer()
        )
        db.session.commit()
        assert "event" in refused(dossier, "start_assessment")


def test_decide_needs_an_assessment_and_a_measure(app):
    with app.app_context():
        dossier = with_person(new_dossier())
        workflow.transition(dossier, "start_assessment", officer())
        db.session.commit()
        assert "assessment" in refused(dossier, "decide_measures")
        from dossiers import casework
        from dossiers.models import AssessmentSource

        casework.record_assessment(
            dossier,
            source=AssessmentSource.OCAM,
            level=2,
            assessed_on=dossier.opened_on,
            review_on=None,
            summary="x",
            actor=officer(),
        )
        db.session.commit()
        assert "measure" in refused(dossier, "decide_measures")


def test_vip_decide_needs_the_ministers_approval(app):
    with app.app_context():
        dossier = with_person(new_dossier(DossierKind.VIP_PROTECTION))
        workflow.transition(dossier, "start_assessment", officer())
        ready_to_decide(dossier)
        dossier.approval_date = None
        dossier.approval_reference = None
        db.session.commit()
        assert "approval" in refused(dossier, "decide_measures")


@pytest.mark.parametrize(
    "state,name",
    [
        (S.INTAKE, "close_without_measures"),
        (S.MEASURES_DECIDED, "reassess"),
        (S.MEASURES_DECIDED, "close"),
        (S.CLOSED, "reopen"),
    ],
)
def test_reason_required(app, state, name):
    with app.app_context():
        dossier = dossier_in(state)
        assert "reason" in refused(dossier, name, reason="   ").lower()


def test_lifted_measures_do_not_satisfy_decide_after_a_reopening(app):
    with app.app_context():
        dossier = dossier_in(S.CLOSED)
        workflow.transition(dossier, "reopen", officer(), "New threat")
        db.session.commit()
        assert "measure" in refused(dossier, "decide_measures")


def test_only_officers_move_dossiers(app):
    with app.app_context():
        dossier = dossier_in(S.INTAKE)
        partner = db.session.scalars(select(User).where(User.email == "partner@test.example")).one()
        assert "officer" in refused(dossier, "start_assessment", actor=partner)


def test_an_unknown_transition_does_not_exist(app):
    with app.app_context():
        dossier = dossier_in(S.INTAKE)
        refused(dossier, "jump_to_closed", reason="because")


def test_decide_sends_measures_and_close_ends_them_on_the_closing_date(app):
    with app.app_context():
        dossier = dossier_in(S.ASSESSMENT)
        measure = dossier.measures[0]
        assert measure.decided_at is None
        workflow.transition(dossier, "decide_measures", officer())
        db.session.commit()
        assert measure.decided_at is not None
        workflow.transition(dossier, "close", officer(), "Threat gone")
        db.session.commit()
        measure = db.session.get(Measure, measure.id)
        assert measure.status is MeasureStatus.LIFTED
        assert measure.end_date == dossier.closed_on
        assert dossier.closure_reason == "Threat gone"
        workflow.transition(dossier, "reopen", officer(), "New threat")
        db.session.commit()
        assert dossier.closed_on is None and dossier.state is S.ASSESSMENT


def test_refused_transition_over_http_says_why_and_changes_nothing(app, login):
    with app.app_context():
        reference = new_dossier().reference
    officer_client = login("officer")
    response = officer_client.post(
        f"/dossiers/{reference}/transition/start_assessment", follow_redirects=True
    )
    assert response.status_code == 200
    assert "Add at least one protected person first." in response.text
    with app.app_context():
        from dossiers.models import Dossier

        dossier = db.session.scalars(select(Dossier).where(Dossier.reference == reference)).one()
        assert dossier.state is S.INTAKE
        assert history(dossier.id)[0] == 0


def test_transition_over_http_moves_and_shows_in_the_timeline(app, login):
    with app.app_context():
        reference = dossier_in(S.MEASURES_DECIDED).reference
    officer_client = login("officer")
    response = officer_client.post(
        f"/dossiers/{reference}/transition/close",
        data={"reason": "Threat no longer current"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Threat no longer current" in response.text  # closure reason and timeline
    assert 'class="badge state state-closed"' in response.text
    timeline = response.text[response.text.index("Timeline") :]
    assert "State changed: Measures decided → Closed — “Threat no longer current”" in timeline
    assert "State changed: Assessment → Measures decided" in timeline


def test_unknown_transition_over_http_is_404(app, login):
    with app.app_context():
        reference = dossier_in(S.INTAKE).reference
    assert login("officer").post(f"/dossiers/{reference}/transition/explode").status_code == 404


def test_a_refusal_names_everything_still_missing_at_once(app):
    with app.app_context():
        dossier = new_dossier(DossierKind.VIP_PROTECTION)
        with pytest.raises(Refused) as refused:
            workflow.transition(dossier, "start_assessment", officer())
        assert "Add at least one protected person first." in str(refused.value)
        assert "A VIP protection dossier needs its event first." in str(refused.value)


def test_the_panel_shows_each_step_with_what_it_still_needs(app, login):
    with app.app_context():
        dossier = new_dossier(DossierKind.VIP_PROTECTION)
        reference = dossier.reference
    session = login("officer")
    page = session.get(f"/dossiers/{reference}").text
    start = page[page.index("/transition/start_assessment") :]
    start = start[: start.index("</form>")]
    assert "disabled" in start and 'aria-describedby="lacking-start_assessment"' in start
    assert "Add at least one protected person first." in start
    assert "A VIP protection dossier needs its event first." in start
    # A step needing only its reason is offered: the reason is asked with it.
    close = page[page.index("/transition/close_without_measures") :]
    close = close[: close.index("</form>")]
    assert "disabled" not in close
    with app.app_context():
        ready = dossier_in(S.INTAKE)
        reference = ready.reference
    page = session.get(f"/dossiers/{reference}").text
    start = page[page.index("/transition/start_assessment") :]
    assert "disabled" not in start[: start.index("</form>")]
    assert "Still needed" not in page


def test_the_decision_step_lists_assessment_measure_and_approval_together(app, login):
    with app.app_context():
        dossier = with_person(new_dossier(DossierKind.VIP_PROTECTION))
        workflow.transition(dossier, "start_assessment", officer())
        db.session.commit()
        lacking = workflow.missing(dossier, workflow.TRANSITIONS["decide_measures"])
        assert lacking == [
            "Record a threat assessment with a level first.",
            "Add at least one measure with a partner organisation and a start date.",
            "Record the Minister's approval (date and reference) first.",
        ]
        ready_to_decide(dossier)
        assert workflow.missing(dossier, workflow.TRANSITIONS["decide_measures"]) == []
