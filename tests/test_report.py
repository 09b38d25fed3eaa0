"""The yearly report on the demo data: the published figures on the page, every figure
opens a list as long as itself, and the exports open."""

import csv
import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import demo_sign_in
from openpyxl import load_workbook
from sqlalchemy import select

from dossiers import figures
from dossiers.extensions import db
from dossiers.models import Person

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "report"
LINK = re.compile(r'href="(/statistics/(\d{4})/figures/[^"]+)"[^>]*>([\d,]+)<')
PUBLISHED = {
    2022: {
        "tp_dossiers": "64",
        "tp_persons": "85",
        "european_summits": "6",
        "protected_attendances": "1,550",
        "heads_of_state_or_government": "305",
    },
    2023: {
        "tp_dossiers": "75",
        "tp_persons": "124",
        "ministerial_councils": "27",
        "european_summits": "6",
    },
    2024: {
        "tp_dossiers": "67",
        "tp_persons": "101",
        "ministerial_councils": "75",
        "european_summits": "7",
    },
}


def figure_links(html):
    """Every number on the page that is a door: (url, the number it shows)."""
    return [
        (url.replace("&amp;", "&"), int(value.replace(",", "")))
        for url, _, value in LINK.findall(html)
    ]


def drill_rows(html):
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return body.count("<tr>")


def all_drill_rows(session, url) -> list[str]:
    """Every row of a drill-down, following its pages to the end."""
    found = []
    while url:
        page = session.get(url)
        assert page.status_code == 200, url
        body = page.text[page.text.index("<tbody>") : page.text.index("</tbody>")]
        found += re.findall(r"<tr>(.*?)</tr>", body, re.S)
        following = re.search(r'rel="next" href="([^"]+)"', page.text)
        url = following.group(1).replace("&amp;", "&") if following else ""
    return found


@pytest.mark.parametrize("year", sorted(PUBLISHED))
def test_the_page_shows_the_published_figures(demo_app, year):
    page = demo_sign_in(demo_app, "analyst").get(f"/statistics/{year}").text
    for key, value in PUBLISHED[year].items():
        assert re.search(rf'figures/{key}"[^>]*>{value}<', page), (year, key, value)
    attendances = dict((u.rsplit("/", 1)[1], v) for u, v in figure_links(page))[
        "protected_attendances"
    ]
    assert attendances > {2022: 1549, 2023: 1500, 2024: 1800}[year]


@pytest.mark.parametrize("who", ["analyst", "officer"])
def test_every_figure_opens_a_list_as_long_as_itself(demo_app, who):
    session = demo_sign_in(demo_app, who)
    page = session.get("/statistics/2023").text
    links = [(u, v) for u, v in figure_links(page) if "/2023/" in u]
    assert len(links) >= 8 + 2 + 30  # tiles, open-on, breakdown groups
    for url, value in links:
        rows = all_drill_rows(session, url)
        assert len(rows) == value, url
        # The pages, put together, are the whole list in order: no row skipped or twice.
        paged = [
            (re.search(r"[A-Z]+-\d{4}-\d{4}", r).group(), re.search(r"\d\d/\d\d/\d{4}", r).group())
            for r in rows
        ]
        path, _, query = url.partition("?")
        export = session.get(f"{path}/rows.csv" + (f"?{query}" if query else "")).text
        whole = [
            (line[0], dt.date.fromisoformat(line[1]).strftime("%d/%m/%Y"))
            for line in list(csv.reader(io.StringIO(export)))[1:]
        ]
        assert paged == whole, url


def test_the_analyst_lists_show_no_names(demo_app):
    with demo_app.app_context():
        names = set(db.session.scalars(select(Person.name)))
    session = demo_sign_in(demo_app, "analyst")
    for key in (
        "tp_dossiers",
        "tp_persons",
        "protected_attendances",
        "european_summits",
        "open_persons",
    ):
        page = session.get(f"/statistics/2023/figures/{key}").text
        assert not [n for n in names if n in page], key
        assert 'href="/dossiers/' not in page
    officer_page = demo_sign_in(demo_app, "officer").get("/statistics/2023/figures/tp_persons").text
    assert any(n in officer_page for n in names)
    assert 'href="/dossiers/TP-2023-' in officer_page


def test_open_on_a_chosen_day(demo_app):
    import datetime as dt

    session = demo_sign_in(demo_app, "analyst")
    page = session.get("/statistics/2023?on=2023-06-30").text
    with demo_app.app_context():
        expected = figures.open_on(dt.date(2023, 6, 30))
    assert re.search(rf'open_dossiers\?on=2023-06-30"[^>]*>{expected["open_dossiers"]}<', page)
    listing = session.get("/statistics/2023/figures/open_dossiers?on=2023-06-30").text
    assert drill_rows(listing) == expected["open_dossiers"]


def test_csv_and_xlsx_exports(demo_app):
    session = demo_sign_in(demo_app, "analyst")
    csv = session.get("/statistics/2023/report.csv")
    assert csv.headers["Content-Type"].startswith("text/csv")
    assert "figure,tp_dossiers,,2023,75,2022,64," in csv.text
    assert "figure,tp_persons,,2023,124,2022,85," in csv.text
    xlsx = session.get("/statistics/2023/report.xlsx")
    book = load_workbook(io.BytesIO(xlsx.data))
    rows = {r[0]: r[1:3] for r in book["Figures"].iter_rows(values_only=True) if r and r[0]}
    assert rows["threatened-person dossiers with measures"] == (75, 64)
    assert rows["ministerial councils (EU and NATO)"] == (27, 0)
    assert "tp_by_month" in book.sheetnames


def test_the_pdf_opens_with_the_headline_figures_and_its_pages_render(demo_app):
    response = demo_sign_in(demo_app, "officer").get("/statistics/2023/report.pdf")
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.data.startswith(b"%PDF")
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils is not installed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / "protection-figures-2023.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for figure in ("75", "124", "27", "1,512", "301", "Protection in 2023", "Measures by type"):
        assert figure in text, figure
    for old in ARTIFACTS.glob("page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(ARTIFACTS / "page")], check=True)
    pages = sorted(ARTIFACTS.glob("page-*.png"))
    assert 2 <= len(pages) <= 6
    assert all(p.stat().st_size > 10_000 for p in pages)  # drawn, not blank


def test_charts_are_svg_with_links_to_their_rows_and_no_script(demo_app):
    svg = demo_sign_in(demo_app, "analyst").get("/statistics/2023/charts/tp_by_level.svg")
    assert svg.headers["Content-Type"].startswith("image/svg+xml")
    assert "<script" not in svg.text
    assert 'href="/statistics/2023/figures/tp_by_level?group=4"' in svg.text


@pytest.mark.parametrize("who", ["partner", "admin"])
def test_partners_and_admins_do_not_see_the_report(demo_app, who):
    session = demo_sign_in(demo_app, who)
    for url in (
        "/statistics/2023",
        "/statistics/2023/report.pdf",
        "/statistics/2023/figures/tp_dossiers",
    ):
        assert session.get(url).status_code == 403


def test_the_rows_behind_a_figure_download_whole(demo_app):
    officer = demo_sign_in(demo_app, "officer")
    lines = list(
        csv.reader(io.StringIO(officer.get("/statistics/2023/figures/tp_persons/rows.csv").text))
    )
    assert lines[0] == ["reference", "date", "person", "function"]
    assert len(lines) - 1 == 124
    assert all(line[2] for line in lines[1:])  # officers may read the names
    analyst = demo_sign_in(demo_app, "analyst")
    response = analyst.get("/statistics/2023/figures/protected_attendances/rows.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data), read_only=True)["Rows"]
    table = list(sheet.iter_rows(values_only=True))
    assert table[1] == ("reference", "date", "event", "kind", "category")  # and no names
    assert len(table) - 2 > 1500  # every attendance, not a page of them
    assert {len(row) for row in table[1:]} == {5}
    by_level = analyst.get("/statistics/2023/figures/tp_by_level/rows.csv?group=4").text
    page = analyst.get("/statistics/2023/figures/tp_by_level?group=4").text
    assert len(by_level.strip().splitlines()) - 1 == drill_rows(page)
