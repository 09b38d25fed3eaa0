"""The whole journey in a real Chromium: an officer decides a measure for a partner,
the partner sees and acknowledges it. Screenshots go to test-artifacts/browser/."""

import datetime as dt
import re
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import PASSWORD, totp_code
from sqlalchemy import select
from werkzeug.serving import make_server

from dossiers.extensions import db
from dossiers.models import User

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def serving(app):
    """Serve the app from a thread on a free loopback port; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def base_url(app):
    with serving(app) as url:
        yield url


@pytest.fixture(scope="session")
def demo_url(demo_app):
    with serving(demo_app) as url:
        yield url


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def sign_in(page, base_url, email, app=None):
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if page.url.endswith("/login/totp"):
        shot(page, "00-second-step")
        with app.app_context():
            user = db.session.scalars(select(User).where(User.email == email)).one()
            code = totp_code(user.totp_secret, user.totp_last_step)
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Sign in").click()


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_officer_decides_and_partner_acknowledges(app, base_url, browser):
    today = dt.date.today().isoformat()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    sign_in(page, base_url, "officer@test.example", app)
    page.wait_for_url(f"{base_url}/dashboard/")
    shot(page, "01-officer-dashboard")

    page.get_by_role("link", name="Open a dossier").first.click()
    page.get_by_label("Kind").select_option("threatened_person")
    page.get_by_label("Title").fill("Mayor threatened – Ixelles")
    page.get_by_label("Ground of the threat").select_option("function")
    shot(page, "02-open-dossier-form")
    page.get_by_role("button", name="Open the dossier").click()
    reference = f"TP-{dt.date.today().year}-0001"
    page.get_by_text(f"Dossier {reference} opened.").wait_for()

    page.get_by_role("link", name="Add a person").click()
    page.get_by_label("Name", exact=True).fill("Jan Peeters")
    page.get_by_label("Function").fill("Mayor")
    page.get_by_role("button", name="Add the person").click()
    page.get_by_text("Person added.").wait_for()

    page.get_by_role("button", name="Decide measures").wait_for(state="detached")
    page.get_by_role("button", name="Start assessment").click()
    page.get_by_text("Done: Start assessment.").wait_for()

    page.get_by_role("link", name="Record an assessment").click()
    page.get_by_label("Threat level").select_option("3")
    page.get_by_label("Review date").fill((dt.date.today() + dt.timedelta(days=90)).isoformat())
    page.get_by_label("Summary").fill("Threatening letters at the town hall.")
    page.get_by_role("button", name="Record").click()
    page.get_by_text("Threat assessment recorded.").wait_for()

    page.get_by_role("link", name="Add a measure").click()
    page.get_by_label("Type of measure").select_option(label="Patrols")
    page.get_by_label("Description").fill("Passing patrols at the home address, day and night.")
    page.get_by_label("Carried out by").select_option(label="Police zone Brussels-Capital-Ixelles")
    page.get_by_label("Start date").fill(today)
    shot(page, "03-add-measure-form")
    page.get_by_role("button", name="Add the measure").click()
    page.get_by_text("Measure added.").wait_for()

    page.get_by_role("button", name="Decide measures").click()
    page.get_by_text("Done: Decide measures.").wait_for()
    shot(page, "04-dossier-measures-decided")
    assert "Measures decided" in page.locator(".dossier-head").inner_text()
    page.get_by_role("button", name="Sign out").click()
    context.close()

    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    sign_in(page, base_url, "partner@test.example")
    page.wait_for_url(f"{base_url}/measures/")
    shot(page, "05-partner-measures")
    assert "Threatening letters" not in page.content()
    page.get_by_role("link", name=reference).click()
    assert "Jan Peeters" in page.content()
    assert "Threatening letters" not in page.content()
    page.get_by_role("button", name="Acknowledge").click()
    page.get_by_text("Report recorded.").wait_for()
    shot(page, "06-partner-acknowledged")
    assert "Acknowledged" in page.locator("dl").inner_text()

    # The partner cannot open the dossier itself.
    response = page.goto(f"{base_url}/dossiers/{reference}")
    assert response.status == 403
    shot(page, "07-partner-refused")
    context.close()


def test_analyst_clicks_75_and_sees_75_references_without_names(demo_app, demo_url, browser):
    from sqlalchemy import select

    from dossiers.extensions import db
    from dossiers.models import Person

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{demo_url}/login")
    page.get_by_label("Email").fill("analyst@demo.example")
    page.get_by_label("Password").fill(demo_app.config["DEMO_PASSWORDS"]["analyst@demo.example"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Protection in 2023").click()
    page.locator("object.chart").first.wait_for()
    shot(page, "10-analyst-report-2023")
    page.get_by_role("link", name="75 threatened-person dossiers with measures: list them").click()
    page.wait_for_url(f"{demo_url}/statistics/2023/figures/tp_dossiers")
    shot(page, "11-analyst-75-references")
    references = page.locator("table.drill tbody tr td:nth-child(1)").all_inner_texts()
    assert len(references) == 75
    assert all(re.fullmatch(r"TP-2023-\d{4}", r) for r in references)
    text = page.locator("main").inner_text()
    with demo_app.app_context():
        names = set(db.session.scalars(select(Person.name)))
    assert not [n for n in names if n in text]
    context.close()
