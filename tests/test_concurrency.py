"""Several officers at once: no lost update, one winner per race, honest refusals."""

import re
import threading

from builders import dossier_in, officer
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from dossiers import workflow
from dossiers.accounts import create_user
from dossiers.extensions import db
from dossiers.models import AuditEvent, Dossier, DossierState, Measure, Role, Transition
from dossiers.refusals import Refused


def hidden(html, name, after=0):
    return re.findall(rf'name="{name}"[^>]*value="([^"]*)"', html[after:])[0]


def count(model, **where):
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def test_a_transition_over_a_stale_page_is_refused_and_says_who_changed_what(app, login):
    with app.app_context():
        reference = dossier_in(DossierState.MEASURES_DECIDED).reference
    first, second = login("officer"), login("officer2")
    page = first.get(f"/dossiers/{reference}").text
    form_at = page.index('/transition/reassess"')
    version, seen = hidden(page, "version", form_at), hidden(page, "seen", form_at)
    second.post(
        f"/dossiers/{reference}/transition/reassess",
        data={
            "reason": "New letters",
            "version": hidden(second.get(f"/dossiers/{reference}").text, "version"),
        },
    )
    response = first.post(
        f"/dossiers/{reference}/transition/close",
        data={"reason": "Calm", "version": version, "seen": seen},
        follow_redirects=True,
    )
    assert "Changed by Officer2 at" in response.text
    assert "State changed" in response.text and "Nothing was saved" in response.text
    with app.app_context():
        dossier = db.session.scalars(select(Dossier).where(Dossier.reference == reference)).one()
        assert dossier.state is DossierState.ASSESSMENT  # the colleague's change stands
        assert count(Transition, dossier_id=dossier.id, name="close") == 0


def test_a_partner_report_over_a_stale_page_is_refused(app, login):
    with app.app_context():
        measure_id = dossier_in(DossierState.MEASURES_DECIDED).measures[0].id
        create_user(
            email="partner2@test.example",
            full_name="Second Partner",
            role=Role.PARTNER,
            password="Tilted-Lantern-Orchard-93",
            organisation_id=2,
            actor=None,
        )
        db.session.commit()
    first = login("partner")
    from conftest import sign_in

    second = sign_in(app.test_client(), "partner2", "Tilted-Lantern-Orchard-93")
    page = first.get(f"/measures/{measure_id}").text
    second.post(
        f"/measures/{measure_id}",
        data={
            "status": "acknowledged",
            "version": hidden(second.get(f"/measures/{measure_id}").text, "version"),
        },
    )
    response = first.post(
        f"/measures/{measure_id}",
        data={
            "status": "acknowledged",
            "note": "ours",
            "version": hidden(page, "version"),
            "seen": hidden(page, "seen"),
        },
    )
    assert "Changed by Second Partner" in response.text
    with app.app_context():
        assert "ours" not in db.session.get(Measure, measure_id).execution_note


def test_two_transitions_at_once_one_wins(app):
    with app.app_context():
        dossier_id = dossier_in(DossierState.MEASURES_DECIDED).id
    barrier = threading.Barrier(2)
    outcomes = []

    def fire(name, reason):
        with app.app_context():
            try:
                dossier = db.session.get(Dossier, dossier_id)
                barrier.wait(timeout=10)
                workflow.transition(dossier, name, officer(), reason)
                db.session.commit()
                outcomes.append("won")
            except (StaleDataError, Refused):
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=fire, args=("close", "Calm")),
        threading.Thread(target=fire, args=("reassess", "New letters")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "won"]
    with app.app_context():
        assert count(Transition, dossier_id=dossier_id) == 3  # start, decide, and one of the two
        moves = count(AuditEvent, dossier_id=dossier_id, action="dossier.transition")
        assert moves == 3


def test_a_person_edit_over_a_stale_page_is_refused(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.ASSESSMENT)
        reference, person_id = dossier.reference, dossier.persons[0].id
    first, second = login("officer"), login("officer2")
    url = f"/dossiers/{reference}/persons/{person_id}/edit"
    page = first.get(url).text
    fresh = second.get(url).text
    response = second.post(
        url,
        data={
            "name": "Jan Peeters-Maes",
            "function": "Mayor",
            "version": hidden(fresh, "version"),
            "seen": hidden(fresh, "seen"),
        },
    )
    assert response.status_code == 302
    response = first.post(
        url,
        data={
            "name": "Jan Peeters",
            "function": "Alderman",
            "version": hidden(page, "version"),
            "seen": hidden(page, "seen"),
        },
    )
    assert "Changed by Officer2" in response.text and "Person corrected" in response.text
    with app.app_context():
        from dossiers.models import Person

        person = db.session.get(Person, person_id)
        assert (person.name, person.function) == ("Jan Peeters-Maes", "Mayor")
