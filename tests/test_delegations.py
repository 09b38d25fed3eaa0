"""A whole delegation at once: the list pasted or uploaded, every line checked and
matched, then one dossier with all its persons, all or nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from dossiers.extensions import db
from dossiers.models import AuditEvent, Dossier, Event, EventKind, Person, VipCategory

HEADER = "name,country,function,category,arrival,departure"


@pytest.fixture
def summit(app):
    with app.app_context():
        event = Event(
            name="European Council",
            kind=EventKind.EUROPEAN_SUMMIT,
            start_date=dt.date(2026, 6, 25),
            end_date=dt.date(2026, 6, 26),
            place="Brussels",
            host="",
        )
        db.session.add(event)
        db.session.commit()
        return event.id


def send(session, event_id, listing="", create=False, upload=None, title="France"):
    data = {"title": title, "listing": listing}
    if create:
        data["create"] = "1"
    if upload is not None:
        data["upload"] = upload
    return session.post(
        f"/events/{event_id}/delegations/new", data=data, content_type="multipart/form-data"
    )


def persons_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Person))


LIST = "\n".join(
    [
        HEADER,
        "Emmanuel Macron,France,President of the Republic,head_of_state,2026-06-24,2026-06-26",
        "Jean-Noël Barrot,France,Minister for Europe and Foreign Affairs,minister,,",
        "Alexis Kohler,France,Secretary-General of the Élysée,other,25/06/2026,26/06/2026",
    ]
)


def test_a_delegation_is_previewed_then_created_in_one_step(app, login, summit):
    session = login("officer")
    preview = send(session, summit, LIST)
    assert preview.status_code == 200
    assert "3 persons are ready." in preview.text and "Create the delegation" in preview.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Dossier)) == 0
    created = send(session, summit, LIST, create=True)
    assert created.status_code == 302
    with app.app_context():
        dossier = db.session.scalars(select(Dossier)).one()
        assert dossier.event_id == summit and dossier.title == "France"
        assert sorted(p.name for p in dossier.persons) == [
            "Alexis Kohler",
            "Emmanuel Macron",
            "Jean-Noël Barrot",
        ]
        macron = next(p for p in dossier.persons if p.name == "Emmanuel Macron")
        assert macron.category is VipCategory.HEAD_OF_STATE and macron.country == "France"
        imported = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "delegation.import")
        ).one()
        assert '"rows": 3' in imported.detail
    page = session.get(f"/events/{summit}").text
    assert "Emmanuel Macron" in page
    assert "24/06/2026 – 26/06/2026" in page  # his own days, from the list


def test_a_person_known_from_last_year_is_matched_when_the_officer_confirms(app, login, summit):
    with app.app_context():
        db.session.add(Person(name="Emmanuel Macron", function="President", country="France"))
        db.session.commit()
    session = login("officer")
    preview = send(session, summit, LIST)
    assert "the same as Emmanuel Macron (France, President)" in preview.text
    assert 'value="new" checked' in preview.text  # the two not known yet
    known_id = preview.text.split('name="match-2" id="match-2-')[1].split('"')[0]
    response = session.post(
        f"/events/{summit}/delegations/new",
        data={"title": "France", "listing": LIST, "create": "1", "match-2": known_id},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert persons_count(app) == 3  # one known, two new


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Ursula,EU,President,empress,,", "Unknown category"),
        (",Belgium,King,head_of_state,,", "Give a name."),
        (
            "Alexander De Croo,Belgium,Prime Minister,head_of_government,2026-05-01,",
            "outside the event",
        ),
        ("Alexander De Croo,Belgium,Prime Minister,head_of_government,31/31/2026,", "not a date"),
        ("Emmanuel Macron,France,President,head_of_state,,", "The same person as on line 2."),
    ],
)
def test_a_wrong_line_is_marked_and_nothing_is_created(app, login, summit, line, message):
    listing = LIST + "\n" + line
    session = login("officer")
    preview = send(session, summit, listing)
    assert message in preview.text
    table = preview.text.split("<tbody>")[1]
    assert table.index(message) < table.index("Jean-Noël Barrot")  # the line to fix first
    assert "1 line needs correcting" in preview.text and "Create the delegation" not in preview.text
    forced = send(session, summit, listing, create=True)
    assert forced.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Dossier)) == 0
    assert persons_count(app) == 0


def test_a_list_with_a_wrong_column_says_which(login, summit):
    response = send(login("officer"), summit, "name,nationality,function,category\nA,B,C,other")
    assert "Unknown: nationality. Missing: country." in response.text


def workbook(rows, formula=False) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if formula:
        sheet["A3"] = '=HYPERLINK("http://evil.example","x")'
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_list_fills_the_text_to_correct(app, login, summit):
    data = workbook(
        [
            HEADER.split(","),
            [
                "Giorgia Meloni",
                "Italy",
                "President of the Council",
                "head_of_government",
                dt.date(2026, 6, 25),
                None,
            ],
            ["Antonio Tajani", "Italy", "Minister", "minister", None, None],
        ]
    )
    response = send(
        login("officer"), summit, upload=(io.BytesIO(data), "italy.xlsx"), title="Italy"
    )
    assert "2 persons are ready." in response.text
    assert (
        "Giorgia Meloni,Italy,President of the Council,head_of_government,2026-06-25,"
        in response.text
    )


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (
            workbook([HEADER.split(","), ["A", "B", "C", "other"], ["x"]], formula=True),
            "f.xlsx",
            "holds a formula",
        ),
        (b"PK\x03\x04 not really a workbook", "broken.xlsx", "not an XLSX workbook"),
        (b"\xff\xfe\x00\x00" * 10, "binary.csv", "neither a CSV text nor an XLSX"),
    ],
)
def test_a_bad_file_gets_a_message_and_writes_nothing(app, login, summit, content, name, message):
    response = send(login("officer"), summit, upload=(io.BytesIO(content), name))
    assert response.status_code == 200 and message in response.text
    assert persons_count(app) == 0


def post_large(session, url, data):
    """Post a body the test client spools to a temporary file, and close that file: the
    client leaves it open, and a server that refuses the body never reads it."""
    builder = EnvironBuilder(
        path=url,
        method="POST",
        data={"csrf_token": session.token, **data},
        content_type="multipart/form-data",
    )
    environ = builder.get_environ()
    try:
        return session.client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def test_a_50_mb_file_is_refused_unread(app, login, summit):
    session = login("officer")
    huge = io.BytesIO(b"name,country,function,category\n" + b"x" * (50 * 1024 * 1024))
    response = post_large(
        session, f"/events/{summit}/delegations/new", {"title": "x", "upload": (huge, "huge.csv")}
    )
    assert response.status_code == 413
    assert "larger than this page accepts" in response.text
    assert persons_count(app) == 0


def test_a_4_mb_file_is_read_although_the_app_takes_1_mb(login, summit):
    session = login("officer")
    big = io.BytesIO((HEADER + "\n" + "A,B,C,other,,\n" * 300_000).encode())
    response = post_large(
        session, f"/events/{summit}/delegations/new", {"title": "x", "upload": (big, "big.csv")}
    )
    assert response.status_code == 200 and "At most 1000 persons in one list." in response.text


def test_three_hundred_lines_make_one_delegation(app, login, summit):
    lines = [HEADER] + [f"Delegate {n:03d},Country {n % 27},Adviser,other,," for n in range(300)]
    session = login("officer")
    preview = send(session, summit, "\n".join(lines))
    assert "300 persons are ready." in preview.text
    assert send(session, summit, "\n".join(lines), create=True).status_code == 302
    with app.app_context():
        dossier = db.session.scalars(select(Dossier)).one()
        assert len(dossier.persons) == 300


def test_only_officers_upload_delegations(login, summit):
    for who in ("partner", "analyst", "admin"):
        assert send(login(who), summit, LIST).status_code == 403


def test_a_known_person_is_matched_whether_the_list_writes_their_accents_or_not(app, login, summit):
    with app.app_context():
        db.session.add(Person(name="Jean-Noel BARROT", function="Minister", country="FRANCE"))
        db.session.add(Person(name="Marie Jean-Noël Barrot", function="Other", country="France"))
        db.session.commit()
    preview = send(login("officer"), summit, LIST)
    # "Jean-Noël Barrot" in the list is the known "Jean-Noel BARROT", not the longer name.
    assert "the same as Jean-Noel BARROT (FRANCE, Minister)" in preview.text
    assert "Marie Jean-Noël Barrot" not in preview.text


def test_a_known_person_on_a_wrong_line_is_not_shown_nor_recorded_as_read(app, login, summit):
    with app.app_context():
        known = Person(name="Emmanuel Macron", function="Secret function", country="France")
        db.session.add(known)
        db.session.commit()
        known_id = known.id
    wrong = f"{HEADER}\nEmmanuel Macron,France,President,emperor,,"
    preview = send(login("officer"), summit, wrong)
    assert "Unknown category" in preview.text and "Secret function" not in preview.text
    with app.app_context():
        searched = db.session.scalars(
            select(AuditEvent.object_id).where(AuditEvent.action == "person.search")
        ).all()
    assert known_id not in searched
    shown = send(login("officer"), summit, LIST)
    assert "Secret function" in shown.text  # a right line shows them: a read of them
    with app.app_context():
        assert (
            known_id
            in db.session.scalars(
                select(AuditEvent.object_id).where(AuditEvent.action == "person.search")
            ).all()
        )
