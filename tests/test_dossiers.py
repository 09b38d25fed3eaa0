"""Officers' dossiers: references, persons, assessments, measures, lists, dashboard."""

import datetime as dt
import re
import threading

from builders import assess, dossier_in, new_dossier, officer, ready_to_decide, with_person
from sqlalchemy import func, select

from dossiers import casework, clock, measures
from dossiers.extensions import db
from dossiers.models import (
    AuditEvent,
    Dossier,
    DossierKind,
    DossierPerson,
    DossierState,
    Person,
)


def test_references_count_per_kind_and_year(app):
    with app.app_context():
        assert new_dossier().reference == f"TP-{clock.today().year}-0001"
        assert new_dossier().reference == f"TP-{clock.today().year}-0002"
        assert new_dossier(DossierKind.VIP_PROTECTION).reference == f"VIP-{clock.today().year}-0001"
        assert new_dossier(opened_on=dt.date(2023, 3, 1)).reference == "TP-2023-0001"
        assert new_dossier().reference == f"TP-{clock.today().year}-0003"


def test_references_stay_unique_when_officers_create_at_once(app):
    errors, references = [], []

    def create():
        with app.app_context():
            try:
                references.append(new_dossier().reference)
            except Exception as error:  # report any failure to the test thread
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    year = clock.today().year
    assert sorted(references) == [f"TP-{year}-{n:04d}" for n in range(1, 9)]


def test_officer_opens_a_dossier_through_the_form(app, login):
    officer_client = login("officer")
    response = officer_client.post(
        "/dossiers/new",
        data={
            "kind": "threatened_person",
            "title": "Judge threatened",
            "opened_on": "2025-02-03",
            "ground": "function",
        },
        follow_redirects=True,
    )
    assert "Dossier TP-2025-0001 opened." in response.text
    assert "Judge threatened" in response.text
    with app.app_context():
        dossier = db.session.scalars(select(Dossier)).one()
        assert dossier.state is DossierState.INTAKE
        assert dossier.lead_officer.email == "officer@test.example"


def test_a_person_threatened_twice_is_one_person(app, login):
    with app.app_context():
        first = with_person(new_dossier(opened_on=dt.date(2023, 1, 5)), name="Marie Dubois")
        second = new_dossier()
        person_id = first.persons[0].id
        second_ref = second.reference
    session = login("officer")
    found = session.get(f"/dossiers/{second_ref}/persons?q=dubois").text
    assert "Marie Dubois" in found
    response = session.post(
        f"/dossiers/{second_ref}/persons/link", data={"person_id": person_id}, follow_redirects=True
    )
    assert "Person linked." in response.text
    again = session.post(
        f"/dossiers/{second_ref}/persons/link", data={"person_id": person_id}, follow_redirects=True
    )
    assert "already in the dossier" in again.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == 1
        assert db.session.scalar(select(func.count()).select_from(DossierPerson)) == 2


def test_add_and_remove_a_person(app, login):
    with app.app_context():
        reference = new_dossier().reference
    session = login("officer")
    response = session.post(
        f"/dossiers/{reference}/persons",
        data={"name": "Luc Maes", "function": "Alderman"},
        follow_redirects=True,
    )
    assert "Luc Maes" in response.text
    with app.app_context():
        person_id = db.session.scalars(select(Person.id)).one()
    response = session.post(
        f"/dossiers/{reference}/persons/{person_id}/remove", follow_redirects=True
    )
    assert "Person removed from the dossier." in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DossierPerson)) == 0
        assert db.session.get(Person, person_id) is not None  # still known


def test_cannot_remove_a_person_with_a_measure_in_force(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        person = dossier.persons[0]
        from builders import measure_type, org

        measures.add_measure(
            dossier,
            measure_type=measure_type("patrols"),
            description="Patrols",
            organisation=org("Police zone"),
            start_date=dossier.opened_on,
            end_date=None,
            actor=officer(),
            person=person,
        )
        db.session.commit()
        reference, person_id = dossier.reference, person.id
    response = login("officer").post(
        f"/dossiers/{reference}/persons/{person_id}/remove", follow_redirects=True
    )
    assert "Lift the measures for this person" in response.text


def test_vip_dossier_event_and_approval_through_the_forms(app, login):
    with app.app_context():
        reference = new_dossier(DossierKind.VIP_PROTECTION).reference
    session = login("officer")
    response = session.post(
        f"/dossiers/{reference}/event",
        data={
            "create-name": "European Council June",
            "create-kind": "european_summit",
            "create-start_date": "2026-06-25",
            "create-end_date": "2026-06-26",
            "create-place": "Brussels – Europa building",
        },
        follow_redirects=True,
    )
    assert "Event set." in response.text and "European Council June" in response.text
    response = session.post(
        f"/dossiers/{reference}/approval",
        data={"approval_date": "2026-06-01", "approval_reference": "BiZa/2026/17"},
        follow_redirects=True,
    )
    assert "BiZa/2026/17" in response.text


def test_measures_and_assessments_show_on_the_timeline(app, login):
    with app.app_context():
        reference = dossier_in(DossierState.ASSESSMENT).reference
    session = login("officer")
    session.post(
        f"/dossiers/{reference}/assessments/new",
        data={
            "source": "federal_police",
            "level": "4",
            "assessed_on": clock.today().isoformat(),
            "summary": "Escalation",
        },
    )
    session.post(
        f"/dossiers/{reference}/measures/new",
        data={
            "measure_type_id": "2",
            "description": "Night patrols",
            "organisation_id": "2",
            "start_date": clock.today().isoformat(),
        },
    )
    page = session.get(f"/dossiers/{reference}").text
    timeline = page[page.index("Timeline") :]
    for entry in (
        "Dossier opened",
        "State changed",
        "Threat assessment recorded",
        "Measure added",
        "4 – very serious",
    ):
        assert entry in timeline, entry
    assert "Officer" in timeline  # who
    assert "4 – very serious" in page[: page.index("Workflow")]  # the current level is the latest


def test_reading_a_dossier_is_audited(app, login):
    with app.app_context():
        dossier = new_dossier()
        reference, dossier_id = dossier.reference, dossier.id
    login("officer").get(f"/dossiers/{reference}")
    with app.app_context():
        reads = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "dossier.view", AuditEvent.dossier_id == dossier_id
            )
        ).all()
        assert len(reads) == 1 and reads[0].actor.email == "officer@test.example"


def test_lift_a_measure(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        reference, measure_id = dossier.reference, dossier.measures[0].id
    response = login("officer").post(
        f"/dossiers/{reference}/measures/{measure_id}/lift", follow_redirects=True
    )
    assert "Measure lifted." in response.text


def make_dossiers(count: int) -> None:
    for index in range(count):
        dossier = new_dossier(opened_on=dt.date(2024, 1, 1) + dt.timedelta(days=index))
        casework.add_new_person(dossier, name=f"Person {index}", function="Judge", actor=officer())
        casework.add_new_person(
            dossier, name=f"Partner {index}", function="Family", actor=officer()
        )
    db.session.commit()


def test_list_filters_and_search(app, login):
    with app.app_context():
        make_dossiers(3)
        new_dossier(DossierKind.VIP_PROTECTION, opened_on=dt.date(2025, 1, 1))
    session = login("officer")
    assert (
        session.get("/dossiers/?kind=vip_protection").text.count('href="/dossiers/VIP-2025-0001"')
        == 1
    )
    assert "TP-2024-0001" not in session.get("/dossiers/?kind=vip_protection").text
    assert "TP-2024-0002" in session.get("/dossiers/?q=Person 1").text
    assert "TP-2024-0001" not in session.get("/dossiers/?q=Person 1").text
    assert "TP-2024-0003" in session.get("/dossiers/?q=tp-2024-0003").text
    assert "VIP-2025-0001" not in session.get("/dossiers/?year=2024").text
    assert "No dossier matches." in session.get("/dossiers/?state=closed").text
    assert (
        "No dossier matches." in session.get("/dossiers/?q=%25_").text
    )  # LIKE wildcards are literal


def test_list_page_runs_the_same_queries_whatever_its_length(app, login, count_queries):
    session = login("officer")
    with app.app_context():
        make_dossiers(2)
    with count_queries() as short:
        assert session.get("/dossiers/").status_code == 200
    with app.app_context():
        make_dossiers(40)
    with count_queries() as long:
        page = session.get("/dossiers/").text
    assert page.count('href="/dossiers/TP-') == 25
    assert long() == short()


def test_partner_list_runs_the_same_queries_whatever_its_length(app, login, count_queries):
    session = login("partner")
    with app.app_context():
        dossier_in(DossierState.MEASURES_DECIDED)
    with count_queries() as short:
        session.get("/measures/")
    with app.app_context():
        for _ in range(6):
            dossier_in(DossierState.MEASURES_DECIDED)
    with count_queries() as long:
        page = session.get("/measures/").text
    assert len(re.findall(r'href="/measures/\d+"', page)) == 7
    assert long() == short()


def test_partner_list_shows_each_dossiers_current_level(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)  # assessed 3 on the day it opened
        assess(dossier, dossier.opened_on, level=4)  # the same day, recorded after the 3
        assess(dossier, dossier.opened_on - dt.timedelta(days=1), level=2)  # recorded later
        other = dossier_in(DossierState.MEASURES_DECIDED)
        db.session.commit()
        reference, other_reference = dossier.reference, other.reference
    page = login("partner").get("/measures/").text
    rows = {
        ref: row for row in page.split("<tr") for ref in (reference, other_reference) if ref in row
    }
    assert "4 – very serious" in rows[reference] and "level-2" not in rows[reference]
    assert "3 – serious" in rows[other_reference]


def test_dossier_page_runs_the_same_queries_whatever_it_holds(app, login, count_queries):
    session = login("officer")
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)
        reference = dossier.reference
    with count_queries() as short:
        assert session.get(f"/dossiers/{reference}").status_code == 200
    with app.app_context():
        dossier = db.session.scalars(select(Dossier).where(Dossier.reference == reference)).one()
        for name in ("Zoë Wouters", "Anne Claes"):
            with_person(dossier, name)
        assess(dossier, dossier.opened_on, level=4)
        assess(dossier, dossier.opened_on - dt.timedelta(days=1), level=2)
        ready_to_decide(dossier, "Federal")
        db.session.commit()
    with count_queries() as long:
        page = session.get(f"/dossiers/{reference}").text
    assert long() == short()
    # Persons by name, assessments newest first, measures in the order they were added.
    assert page.index("Anne Claes") < page.index("Jan Peeters") < page.index("Zoë Wouters")
    assessments = page[page.index("level level-4") :]
    assert assessments.index("level-4") < assessments.index("level-2")
    assert page.index("Police zone") < page.index("Federal Police")


def test_dashboard_shows_what_needs_action(app, login):
    with app.app_context():
        waiting = new_dossier().reference
        decided = dossier_in(DossierState.MEASURES_DECIDED)
        decided.assessments[0].review_on = clock.today() - dt.timedelta(days=1)
        db.session.commit()
        decided_ref = decided.reference
    page = login("officer").get("/dashboard/").text
    action = page[page.index("Dossiers needing action") : page.index("Threat reviews due")]
    reviews = page[page.index("Threat reviews due") : page.index("not yet acknowledged")]
    unacknowledged = page[page.index("not yet acknowledged") :]
    assert waiting in action and decided_ref not in action
    assert decided_ref in reviews
    assert decided_ref in unacknowledged
    detail = login("officer").get(f"/dossiers/{decided_ref}").text
    assert "a new assessment is due" in detail


def test_dashboard_runs_the_same_queries_whatever_the_data(app, login, count_queries):
    session = login("officer")
    with app.app_context():
        dossier_in(DossierState.MEASURES_DECIDED)
        new_dossier()
    with count_queries() as few:
        session.get("/dashboard/")
    with app.app_context():
        for _ in range(5):
            dossier_in(DossierState.MEASURES_DECIDED)
            new_dossier()
    with count_queries() as many:
        page = session.get("/dashboard/").text
    assert page.count('href="/dossiers/TP-') >= 12
    assert many() == few()


def test_the_audit_page_runs_the_same_queries_whatever_its_length(app, login, count_queries):
    admin = login("admin")
    with app.app_context():
        new_dossier()
    with count_queries() as short:
        admin.get("/admin/audit")
    with app.app_context():
        for _ in range(10):
            dossier_in(DossierState.ASSESSMENT)
    with count_queries() as long:
        admin.get("/admin/audit")
    assert long() == short()


def test_times_show_on_the_crisis_centres_clock(app, login):
    with app.app_context():
        dossier = with_person(new_dossier(opened_on=dt.date(2024, 7, 1)))
        from dossiers import workflow

        workflow.transition(
            dossier, "start_assessment", officer(), at=dt.datetime(2024, 7, 1, 10, 0)
        )
        db.session.commit()
        reference = dossier.reference
    page = login("officer").get(f"/dossiers/{reference}").text
    assert "01/07/2024 12:00" in page  # 10:00 UTC is noon in Brussels in summer


def test_reviews_due_follow_the_current_assessment_of_open_dossiers(app, login):
    today = clock.today()

    def dated(dossier, assessed_days_ago, review_days_ago):
        assessment = dossier.assessments[0]
        assessment.assessed_on = today - dt.timedelta(days=assessed_days_ago)
        assessment.review_on = today - dt.timedelta(days=review_days_ago)
        db.session.commit()

    with app.app_context():
        older, newer, renewed = (dossier_in(DossierState.MEASURES_DECIDED) for _ in range(3))
        dated(older, 40, 10)
        dated(newer, 30, 2)
        dated(renewed, 30, 5)
        assess(renewed, today, today + dt.timedelta(days=90))  # reassessed: not due
        db.session.commit()
        # A back-dated assessment is not the current one: the review stays as it was.
        assess(newer, today - dt.timedelta(days=60), today + dt.timedelta(days=300))
        db.session.commit()
        closed = dossier_in(DossierState.CLOSED)
        dated(closed, 200, 100)
        refs = [d.reference for d in (older, newer, renewed, closed)]
    page = login("officer").get("/dashboard/").text
    reviews = page[page.index("Threat reviews due") : page.index("not yet acknowledged")]
    assert refs[0] in reviews and refs[1] in reviews
    assert reviews.index(refs[0]) < reviews.index(refs[1])  # the most overdue first
    assert refs[2] not in reviews and refs[3] not in reviews


def test_the_dashboard_counts_all_waiting_work_and_shows_the_first(app, login, monkeypatch):
    from dossiers import listings

    monkeypatch.setattr(listings, "DASHBOARD_ROWS", 2)
    with app.app_context():
        oldest = [new_dossier().reference for _ in range(3)]
    page = login("officer").get("/dashboard/").text
    action = page[page.index("Dossiers needing action") : page.index("Threat reviews due")]
    assert '<span class="badge bg-secondary">3</span>' in action
    assert "The first 2 are shown." in action
    assert sum(ref in action for ref in oldest) == 2
    monkeypatch.setattr(listings, "DASHBOARD_COUNT_CAP", 2)
    page = login("officer").get("/dashboard/").text
    assert '<span class="badge bg-secondary">2+</span>' in page
