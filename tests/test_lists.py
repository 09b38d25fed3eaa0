"""Long lists: keyset pages, indexed search by name and reference, current and lifted."""

import datetime as dt
import html
import importlib.util
import re
from pathlib import Path

from builders import dossier_in, new_dossier, officer
from conftest import plan_of, statement_of
from sqlalchemy import select, text
from test_dossiers import make_dossiers

from dossiers import casework, names
from dossiers.extensions import db
from dossiers.models import CURRENT_MEASURE_SQL, Dossier, DossierState, Person

NEXT = re.compile(r'rel="next" href="([^"]+)"')
PREVIOUS = re.compile(r'rel="prev" href="([^"]+)"')


def references(page: str) -> list[str]:
    return re.findall(r'href="/dossiers/(TP-\d{4}-\d{4})"', page)


def walk(session, url: str) -> list[list[str]]:
    pages = []
    while url:
        page = session.get(url).text
        pages.append(page)
        following = NEXT.search(page)
        url = html.unescape(following.group(1)) if following else ""
    return pages


def test_paging_through_the_list_shows_every_dossier_once_newest_first(app, login):
    with app.app_context():
        make_dossiers(30)
        # Two on one day: the id breaks the tie, so neither is skipped between pages.
        for _ in range(2):
            new_dossier(opened_on=dt.date(2024, 1, 25))
        expected = [
            d.reference
            for d in db.session.scalars(
                db.select(Dossier).order_by(Dossier.opened_on.desc(), Dossier.id.desc())
            )
        ]
    session = login("officer")
    pages = walk(session, "/dossiers/")
    assert [len(references(p)) for p in pages] == [25, 7]
    assert sum((references(p) for p in pages), []) == expected
    back = PREVIOUS.search(pages[1])
    assert back is not None
    assert references(session.get(html.unescape(back.group(1))).text) == expected[:25]
    assert "32 dossiers" in pages[1]


def test_pages_keep_the_filter_and_a_broken_cursor_shows_the_first_page(app, login):
    with app.app_context():
        make_dossiers(30)
    session = login("officer")
    pages = walk(session, "/dossiers/?year=2024&state=intake")
    assert [len(references(p)) for p in pages] == [25, 5]
    assert "year=2024" in NEXT.search(pages[0]).group(1)
    for cursor in ("nonsense", "W10", "eyJ0IjoxfQ", "W3siZCI6Inh4In0sMV0", "x" * 500):
        response = session.get(f"/dossiers/?after={cursor}")
        assert response.status_code == 200
        assert references(response.text) == references(pages[0])


def test_a_deep_page_runs_the_same_queries_as_the_first(app, login, count_queries):
    with app.app_context():
        make_dossiers(80)
    session = login("officer")
    with count_queries() as first:
        page = session.get("/dossiers/").text
    url = html.unescape(NEXT.search(page).group(1))
    for _ in range(2):
        url = html.unescape(NEXT.search(session.get(url).text).group(1))
    with count_queries() as deep:
        assert len(references(session.get(url).text)) == 5
    assert deep() == first()


def test_search_finds_any_part_of_a_name_whatever_its_case(app, login):
    with app.app_context():
        dossier = new_dossier()
        casework.add_new_person(
            dossier, name="Anne-Sophie Vandenbroucke", function="Judge", actor=officer()
        )
        other = new_dossier()
        casework.add_new_person(other, name="Karel Claes", function="Mayor", actor=officer())
        db.session.commit()
        wanted, unwanted = dossier.reference, other.reference
    session = login("officer")
    for query in ("vandenbroucke", "BROUC", "sophie van", "Anne"):
        found = references(session.get(f"/dossiers/?q={query}").text)
        assert found == [wanted], query
    # Shorter than a trigram: only references are searched, and the form says so.
    short = session.get("/dossiers/?q=ka").text
    assert references(short) == []
    assert "Names are searched from 3 letters." in short
    assert unwanted in references(session.get("/dossiers/?q=claes").text)
    assert references(session.get('/dossiers/?q="claes"').text) == []


def test_a_renamed_person_is_found_by_the_new_name_only(app, login):
    with app.app_context():
        dossier = new_dossier()
        person = casework.add_new_person(
            dossier, name="Jan Peeters", function="Mayor", actor=officer()
        )
        db.session.commit()
        casework.update_person(
            dossier,
            person,
            name="Jan Peeterssen-Wouters",
            function="Mayor",
            category=None,
            country=None,
            actor=officer(),
        )
        db.session.commit()
        reference, person_id = dossier.reference, person.id
    session = login("officer")
    assert references(session.get("/dossiers/?q=wouters").text) == [reference]
    assert references(session.get("/dossiers/?q=Jan Peeters").text) == [reference]
    assert references(session.get("/dossiers/?q=Peeters J").text) == []
    with app.app_context():
        db.session.execute(text("DELETE FROM dossier_person"))
        db.session.delete(db.session.get(Person, person_id))
        db.session.commit()
        assert list(db.session.execute(names.person_ids_named("Wouters"))) == []


def test_search_by_the_start_of_a_reference(app, login):
    with app.app_context():
        make_dossiers(12)
    session = login("officer")
    assert references(session.get("/dossiers/?q=tp-2024-001").text) == [
        f"TP-2024-{n:04d}" for n in (12, 11, 10)
    ]
    assert references(session.get("/dossiers/?q=TP-2024-0007").text) == ["TP-2024-0007"]
    assert references(session.get("/dossiers/?q=TP-2025").text) == []


def test_name_search_reads_an_index_not_the_table(app):
    with app.app_context():
        ids = names.person_ids_named("Peeters").limit(1001)
        statement = str(ids.compile(db.engine, compile_kwargs={"literal_binds": True}))
        if db.engine.dialect.name == "sqlite":
            rows = db.session.execute(text(f"EXPLAIN QUERY PLAN {statement}"))
            plan = " ".join(str(row) for row in rows)
            assert "SEARCH person_name_suffix USING PRIMARY KEY (suffix>? AND suffix<?)" in plan
        else:
            # A few rows make a scan cheaper; forbid it to see whether the index serves.
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(row[0] for row in db.session.execute(text(f"EXPLAIN {statement}")))
            assert "pk_person_name_suffix" in plan and "Seq Scan" not in plan, plan
        db.session.rollback()


def test_search_folds_case_and_accents(app, login):
    with app.app_context():
        dossier = new_dossier()
        casework.add_new_person(
            dossier, name="Élodie Müller-Straße", function="Judge", actor=officer()
        )
        db.session.commit()
        wanted = dossier.reference
    session = login("officer")
    # Typed with or without its accents, as a keyboard without them would (issue 16).
    for query in ("élodie", "ÉLODIE", "elodie", "müller", "muller", "MULLER-STRASSE", "straße"):
        assert references(session.get(f"/dossiers/?q={query}").text) == [wanted], query
    assert references(session.get("/dossiers/?q=mueller").text) == []


def test_partners_see_current_measures_and_lifted_ones_apart(app, login):
    with app.app_context():
        current = dossier_in(DossierState.MEASURES_DECIDED).measures[0].id
        closed = dossier_in(DossierState.CLOSED).measures[0].id
    session = login("partner")
    listing = session.get("/measures/").text
    assert f'href="/measures/{current}"' in listing
    assert f'href="/measures/{closed}"' not in listing
    lifted = session.get("/measures/?show=lifted").text
    assert f'href="/measures/{closed}"' in lifted
    assert f'href="/measures/{current}"' not in lifted


def test_the_audit_page_pages_by_sequence(app, login):
    with app.app_context():
        make_dossiers(30)  # each writes a few events
    session = login("admin")
    first = session.get("/admin/audit").text
    sequences = [int(s) for s in re.findall(r'<td class="text-muted">(\d+)</td>', first)]
    assert len(sequences) == 50
    assert sequences == sorted(sequences, reverse=True)
    second = session.get(html.unescape(NEXT.search(first).group(1))).text
    following = [int(s) for s in re.findall(r'<td class="text-muted">(\d+)</td>', second)]
    assert following[0] == sequences[-1] - 1


def test_the_list_names_three_persons_a_dossier_and_counts_the_rest(app, login, count_queries):
    with app.app_context():
        small = new_dossier()
        casework.add_new_person(small, name="Karel Claes", function="Mayor", actor=officer())
        summit = new_dossier()
        for name in ("Eva Wouters", "Bram Aerts", "Dirk Maes", "Ann Jacobs", "Carl Peeters"):
            casework.add_new_person(summit, name=name, function="Judge", actor=officer())
        db.session.commit()
        small_ref, summit_ref = small.reference, summit.reference
    session = login("officer")
    with count_queries() as queries:
        page = session.get("/dossiers/").text
    rows = {
        ref: page[page.index(f">{ref}</a>") :].split("</tr>")[0] for ref in (small_ref, summit_ref)
    }
    assert "Karel Claes" in rows[small_ref] and "more" not in rows[small_ref]
    assert "Ann Jacobs, Bram Aerts, Carl Peeters and 2 more" in rows[summit_ref]
    assert "Dirk Maes" not in rows[summit_ref] and "Eva Wouters" not in rows[summit_ref]
    with app.app_context():
        summit = db.session.scalar(select(Dossier).where(Dossier.reference == summit_ref))
        for n in range(20):
            casework.add_new_person(summit, name=f"Delegate {n:02}", function="x", actor=officer())
        db.session.commit()
    with count_queries() as more:
        page = session.get("/dossiers/").text
    assert "and 22 more" in page
    assert more() == queries()


def test_current_work_is_read_from_partial_indexes(app, login):
    """The partner's current measures and the reviews due are index ranges read in order,
    whatever the history holds (lifted measures, closed dossiers)."""
    with app.app_context():
        dossier_in(DossierState.MEASURES_DECIDED)
    partner = plan_of(app, login, "partner", "/measures/", "ORDER BY measure.start_date DESC")
    assert "ix_measure_partner_current" in partner, partner
    assert "TEMP B-TREE" not in partner and "Sort" not in partner, partner
    reviews = plan_of(app, login, "officer", "/dashboard/", "dossier.review_on <=")
    assert "ix_dossier_open_review_on" in reviews, reviews
    assert "TEMP B-TREE" not in reviews and "Sort" not in reviews, reviews


def test_a_partners_list_is_counted_from_its_index_alone(app, login):
    """Counting a partner's current measures reads index entries, not every measure row:
    at a hundred times the volume a service has hundreds of them."""
    with app.app_context():
        dossier_in(DossierState.MEASURES_DECIDED)
    counting = "(SELECT measure.id AS id"
    plan = plan_of(app, login, "partner", "/measures/", counting)
    assert "ix_measure_partner_current" in plan, plan
    statement, parameters = statement_of(app, login, "partner", "/measures/", counting)
    with app.app_context():
        connection = db.session.connection()
        if connection.dialect.name == "sqlite":
            # The program opens the table but never reads a column of it: every condition
            # is the index's own, so no row is looked up.
            program = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            operations = [row[1] for row in program]
            assert "Column" not in operations, operations
        else:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            explained = " ".join(row[0] for row in rows)
            assert "Index Only Scan" in explained, explained
        db.session.rollback()


def test_the_partner_index_is_created_as_the_queries_spell_it():
    spec = importlib.util.spec_from_file_location(
        "m0020",
        Path(__file__).parent.parent / "migrations/versions/0020_corrections_and_notes.py",
    )
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.CURRENT == CURRENT_MEASURE_SQL
