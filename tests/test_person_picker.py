"""Finding a person already known, and recording who a protected person is: a date of
birth, a family member of the dossier's main person without a function."""

from __future__ import annotations

import datetime as dt
import re

from builders import dossier_in, new_dossier, officer
from sqlalchemy import select

from dossiers import casework
from dossiers.clock import today
from dossiers.extensions import db
from dossiers.models import DossierPerson, DossierState, Person


def lines(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", li)
        for li in re.findall(r'<li class="list-group-item d-flex.*?</li>', html, re.S)
    ]


def test_chloe_finds_chloe_with_her_accent(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.INTAKE)
        other = new_dossier()
        casework.add_new_person(other, name="Chloé Dubois", function="Judge", actor=officer())
        db.session.commit()
        reference = dossier.reference
    session = login("officer")
    for typed in ("chloe", "CHLOÉ", "dubois"):
        found = session.get(f"/dossiers/{reference}/persons?q={typed}").text
        assert "Chloé Dubois" in found, typed


def test_two_letters_ask_for_a_third_rather_than_finding_nobody(app, login):
    with app.app_context():
        reference = dossier_in(DossierState.INTAKE).reference
    page = login("officer").get(f"/dossiers/{reference}/persons?q=ch").text
    assert "Type at least three letters of the name." in page
    assert "Nobody found by that name." not in page


def test_namesakes_are_told_apart_and_a_cut_list_says_so(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.INTAKE)
        for i in range(22):
            earlier = new_dossier(opened_on=dt.date(2020 + i % 5, 3, 1))
            casework.add_new_person(
                earlier,
                name="Jan Janssens",
                function=f"Mayor of town {i}",
                date_of_birth=dt.date(1960 + i, 1, 1),
                actor=officer(),
            )
        db.session.commit()
        reference = dossier.reference
    page = login("officer").get(f"/dossiers/{reference}/persons?q=janssens").text
    found = lines(page)
    assert len(found) == 20
    assert len(set(found)) == 20  # no two lines alike
    assert "born in 1960" in found[0] and "Mayor of town 0" in found[0]
    assert re.search(r"last dossier TP-202\d-\d{4} \(202\d\)", found[0])
    assert "Only the first 20 are shown" in page


def test_a_family_member_needs_no_function_and_says_whose_family_they_are(app, login):
    with app.app_context():
        dossier = dossier_in(DossierState.INTAKE)  # Jan Peeters, mayor
        mayor = dossier.persons[0]
        reference, mayor_id = dossier.reference, mayor.id
    session = login("officer")
    url = f"/dossiers/{reference}/persons"
    no_function = session.post(url, data={"name": "Lisa Peeters", "function": ""})
    assert "Give the person&#39;s function (a family member needs none)." in no_function.text
    future = session.post(
        url,
        data={
            "name": "Lisa Peeters",
            "family_of_id": str(mayor_id),
            "date_of_birth": (today() + dt.timedelta(days=1)).isoformat(),
        },
    )
    assert "A date of birth cannot be in the future." in future.text
    added = session.post(
        url,
        data={
            "name": "Lisa Peeters",
            "family_of_id": str(mayor_id),
            "relation": "daughter",
            "date_of_birth": "2010-05-04",
        },
        follow_redirects=True,
    )
    assert "Person added." in added.text
    assert "daughter of Jan Peeters" in added.text and "born on 04/05/2010" in added.text
    with app.app_context():
        lisa = db.session.scalars(select(Person).where(Person.name == "Lisa Peeters")).one()
        assert lisa.function == "" and lisa.date_of_birth == dt.date(2010, 5, 4)
        link = db.session.scalars(
            select(DossierPerson).where(DossierPerson.person_id == lisa.id)
        ).one()
        assert (link.family_of_id, link.relation) == (mayor_id, "daughter")


def test_family_links_go_one_way_and_end_with_their_main_person(app, user):
    from dossiers.refusals import Refused

    with app.app_context():
        dossier = dossier_in(DossierState.INTAKE)
        mayor = dossier.persons[0]
        lisa = casework.add_new_person(
            dossier, name="Lisa Peeters", function="", family_of=mayor, actor=officer()
        )
        db.session.commit()
        try:  # the mayor cannot in turn be Lisa's family member
            casework.update_person(
                dossier,
                mayor,
                name=mayor.name,
                function=mayor.function,
                category=None,
                country=None,
                family_of=lisa,
                actor=officer(),
            )
        except Refused as refused:
            assert refused.field == "family_of_id"
        else:
            raise AssertionError("a family link both ways")
        db.session.rollback()
        casework.remove_person(dossier, mayor, officer())
        db.session.commit()
        link = db.session.get(DossierPerson, (dossier.id, lisa.id))
        assert (link.family_of_id, link.relation) == (None, "")
