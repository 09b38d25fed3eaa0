"""The whole journey in a real Chromium: an officer decides a measure for a partner,
the partner sees and acknowledges it. Screenshots go to test-artifacts/browser/."""

import datetime as dt
import re
import threading
from contextlib import contextmanager
from pathlib import Path

import pyotp
import pytest
from babel.support import Translations
from builders import dossier_in
from conftest import PASSWORD, forget_migrations, forget_used_codes, totp_code
from sqlalchemy import select
from werkzeug.serving import make_server

from dossiers import clock, create_app, measures
from dossiers.extensions import db
from dossiers.models import DossierState, Measure, MeasureStatus, Organisation, User

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
CATALOGS = Path(__file__).resolve().parent.parent / "dossiers" / "translations"
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


def translator(language: str):
    """The app's own catalogue: the test reads the page in the words a user would see."""
    catalogue = Translations.load(str(CATALOGS), [language])
    return catalogue.gettext


def switch_language(page, language: str) -> None:
    page.locator(f'.language-switcher button[value="{language}"]').click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == language


def sign_in(page, base_url, email, app=None, password=PASSWORD, t=str, step=""):
    page.goto(f"{base_url}/login")
    page.get_by_label(t("Email")).fill(email)
    page.get_by_label(t("Password")).fill(password)
    page.get_by_role("button", name=t("Sign in")).click()
    page.wait_for_load_state()
    if page.url.endswith("/login/totp"):
        shot(page, f"{step}00-second-step")
        with app.app_context():
            user = db.session.scalars(select(User).where(User.email == email)).one()
            forget_used_codes(user)
            code = totp_code(user.totp_secret, user.totp_last_step)
        page.get_by_label(t("Code")).fill(code)
        page.get_by_role("button", name=t("Sign in")).click()


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_officer_decides_and_partner_acknowledges(app, base_url, browser, language):
    """A Dutch- or French-speaking officer's day and a partner's, in their own language."""
    t = translator(language)
    step = f"{language}-"
    today = clock.today().isoformat()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.goto(f"{base_url}/login")
    switch_language(page, language)  # the browser says English; the person chooses
    sign_in(page, base_url, "officer@test.example", app, t=t, step=step)
    page.wait_for_url(f"{base_url}/dashboard/")
    shot(page, f"{step}01-officer-dashboard")

    page.get_by_role("link", name=t("Open a dossier")).first.click()
    page.get_by_label(t("Kind")).select_option("threatened_person")
    page.get_by_label(t("Title")).fill("Burgemeester bedreigd – Elsene / Ixelles")
    page.get_by_label(t("Ground of the threat")).select_option("function")
    shot(page, f"{step}02-open-dossier-form")
    page.get_by_role("button", name=t("Open the dossier")).click()
    reference = f"TP-{clock.today().year}-0001"
    page.get_by_text(t("Dossier %(ref)s opened.") % {"ref": reference}).wait_for()
    shot(page, f"{step}03-dossier-opened")

    page.get_by_role("link", name=t("Add a person")).click()
    page.get_by_label(t("Name"), exact=True).fill("Jan Peeters")
    page.get_by_label(t("Function")).fill("Burgemeester")
    shot(page, f"{step}04-add-person")
    page.get_by_role("button", name=t("Add the person")).click()
    page.get_by_text(t("Person added.")).wait_for()

    page.get_by_role("button", name=t("Decide measures")).wait_for(state="detached")
    page.get_by_role("button", name=t("Start assessment")).click()
    page.get_by_text(t("Done: %(label)s.") % {"label": t("Start assessment")}).wait_for()
    shot(page, f"{step}05-assessment-started")

    page.get_by_role("link", name=t("Record an assessment")).click()
    page.get_by_label(t("Threat level")).select_option("3")
    page.get_by_label(t("Review date")).fill((clock.today() + dt.timedelta(days=90)).isoformat())
    page.get_by_label(t("Summary")).fill("Dreigbrieven op het gemeentehuis.")
    shot(page, f"{step}06-assessment-form")
    page.get_by_role("button", name=t("Record"), exact=True).click()
    page.get_by_text(t("Threat assessment recorded.")).wait_for()

    page.get_by_role("link", name=t("Add a measure")).click()
    page.get_by_label(t("Type of measure")).select_option(label=t("Patrols"))
    page.get_by_label(t("Description")).fill("Patrouilles aan de woning, dag en nacht.")
    page.get_by_label(t("Carried out by")).select_option(
        label="Police zone Brussels-Capital-Ixelles"
    )
    page.get_by_label(t("Start date")).fill(today)
    shot(page, f"{step}07-add-measure-form")
    page.get_by_role("button", name=t("Add the measure")).click()
    page.get_by_text(t("Measure added.")).wait_for()

    page.get_by_role("button", name=t("Decide measures")).click()
    page.get_by_text(t("Done: %(label)s.") % {"label": t("Decide measures")}).wait_for()
    shot(page, f"{step}08-dossier-measures-decided")
    assert t("Measures decided") in page.locator(".dossier-head").inner_text()
    page.get_by_role("button", name=t("Sign out")).click()
    context.close()

    # The partner's browser speaks the language; nothing to choose.
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=language)
    page = context.new_page()  # a phone
    sign_in(page, base_url, "partner@test.example", t=t)
    page.wait_for_url(f"{base_url}/measures/")
    assert page.locator("html").get_attribute("lang") == language
    shot(page, f"{step}09-partner-measures")
    assert "Dreigbrieven" not in page.content()
    page.get_by_role("link", name=reference).click()
    assert "Jan Peeters" in page.content()
    assert "Dreigbrieven" not in page.content()
    shot(page, f"{step}10-partner-measure")
    page.get_by_role("button", name=t("Acknowledge")).click()
    page.get_by_text(t("Report recorded.")).wait_for()
    shot(page, f"{step}11-partner-acknowledged")
    assert t("Acknowledged") in page.locator("dl").inner_text()

    # The partner cannot open the dossier itself.
    response = page.goto(f"{base_url}/dossiers/{reference}")
    assert response.status == 403
    assert t("Not allowed") in page.content()
    shot(page, f"{step}12-partner-refused")
    context.close()


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_analyst_clicks_75_and_sees_75_references_without_names(
    demo_app, demo_url, browser, language
):
    from dossiers.models import Person

    t = translator(language)
    step = f"{language}-"
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=language)
    page = context.new_page()
    email = "analyst@demo.example"
    sign_in(page, demo_url, email, password=demo_app.config["DEMO_PASSWORDS"][email], t=t)
    page.get_by_role("link", name=t("Protection in %(y)d") % {"y": 2023}).click()
    page.locator("object.chart").first.wait_for()
    shot(page, f"{step}20-analyst-report-2023")
    label = t("threatened-person dossiers with measures")
    page.get_by_role("link", name=t("%(v)s %(l)s: list them") % {"v": "75", "l": label}).click()
    page.wait_for_url(f"{demo_url}/statistics/2023/figures/tp_dossiers")
    shot(page, f"{step}21-analyst-75-references")
    references = page.locator("table.drill tbody tr td:nth-child(1)").all_inner_texts()
    assert len(references) == 75
    assert all(re.fullmatch(r"TP-2023-\d{4}", r) for r in references)
    text = page.locator("main").inner_text()
    with demo_app.app_context():
        names = set(db.session.scalars(select(Person.name)))
    assert not [n for n in names if n in text]
    context.close()


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_admin_gives_a_police_zone_an_account(app, base_url, browser, language):
    t = translator(language)
    step = f"{language}-"
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=language)
    page = context.new_page()
    sign_in(page, base_url, "admin@test.example", app, t=t, step=f"{step}3")
    page.get_by_role("link", name=t("New user")).click()
    page.get_by_label(t("Email")).fill(f"zone-{language}@test.example")
    page.get_by_label(t("Full name")).fill("Inspecteur Dubois")
    page.get_by_label(t("Role")).select_option("partner")
    page.get_by_role("button", name=t("Save")).click()
    # Refused: a partner without an organisation and without a password; said in place.
    errors = page.locator(".invalid-feedback")
    errors.first.wait_for()
    shot(page, f"{step}30-admin-refused-form")
    described = page.get_by_label(t("Organisation")).get_attribute("aria-describedby")
    assert (
        described
        and t("A police partner belongs to an organisation.")
        in page.locator(f"#{described}").inner_text()
    )
    page.get_by_label(t("Organisation")).select_option(label="Police zone Brussels-Capital-Ixelles")
    page.get_by_label(t("Password")).fill("Tilted-Lantern-Orchard-93")
    page.get_by_role("button", name=t("Save")).click()
    page.get_by_text(t("User created.")).wait_for()
    shot(page, f"{step}31-admin-user-created")
    assert f"zone-{language}@test.example" in page.content()
    context.close()


def test_the_keyboard_reaches_the_content_first_and_shows_where_it_is(base_url, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl")
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == translator("nl")("Skip to the content")
    shot(page, "nl-40-skip-link-focused")
    page.keyboard.press("Enter")
    # The jump is a same-page navigation: wait for it rather than race it on a busy machine.
    page.wait_for_function("location.hash === '#main'")
    assert page.url.endswith("#main")
    page.get_by_label("E-mailadres").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus ring of app.css, visible on every control
    context.close()


AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
# The main pages of each role, on the demo data.
MAIN_PAGES = {
    "officer": [
        "/dashboard/",
        "/dossiers/",
        "/dossiers/?q=TP-2023",
        "/dossiers/new",
        "/dossiers/TP-2023-0001",
        "/dossiers/TP-2023-0001/persons",
        "/dossiers/TP-2023-0001/assessments/new",
        "/dossiers/TP-2023-0001/measures/new",
        "/dossiers/VIP-2023-0001/event",
        "/dossiers/VIP-2023-0001/approval",
    ],
    "partner": ["/measures/", "/measures/?show=lifted", "{measure}"],
    "analyst": [
        "/statistics/",
        "/statistics/2023",
        "/statistics/2023/figures/protected_attendances",
        "/statistics/2023/figures/tp_by_level?group=3",
    ],
    "admin": [
        "/admin/users",
        "/admin/users/new",
        "/admin/organisations",
        "/admin/organisations/new",
        "/admin/measure-types",
        "/admin/measure-types/new",
        "/admin/audit",
    ],
}


# The deepest element that reaches past the right edge of the window: what to fix.
WIDEST_ELEMENT = """() => {
  let found = '';
  for (const e of document.querySelectorAll('body *')) {
    const scrolls = e.parentElement.closest('.table-responsive');
    if (!scrolls && e.getBoundingClientRect().right > window.innerWidth + 1) {
      found = e.tagName.toLowerCase() + '.' + [...e.classList].join('.');
    }
  }
  return found;
}"""


def axe_findings(page) -> list[str]:
    """Serious and critical WCAG violations on the page, as 'rule: target' lines."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {node['target']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
        for node in v["nodes"]
    ]


def demo_browser_sign_in(page, demo_app, demo_url, who):
    from conftest import demo_sign_in

    email = f"{who}@demo.example"
    demo_sign_in(demo_app, who)  # sets up the second factor the first time, as a person would
    sign_in(page, demo_url, email, demo_app, password=demo_app.config["DEMO_PASSWORDS"][email])
    page.wait_for_load_state()


@pytest.mark.parametrize("who", list(MAIN_PAGES))
def test_main_pages_are_accessible_and_hold_at_phone_width(demo_app, demo_url, browser, who):
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `npm ci` (make test does)")
    # The app's policy forbids injected scripts, rightly; the test lifts it to run axe.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    demo_browser_sign_in(page, demo_app, demo_url, who)
    with demo_app.app_context():
        from dossiers.models import Measure

        measure = db.session.scalars(
            select(Measure.id)
            .join(User, User.organisation_id == Measure.organisation_id)
            .where(User.email == f"{who}@demo.example", Measure.decided_at.is_not(None))
        ).first()
    findings, overflowing = {}, []
    for language in ("nl", "fr"):
        switch_language(page, language)
        for path in MAIN_PAGES[who]:
            url = demo_url + path.format(measure=f"/measures/{measure}")
            page.set_viewport_size({"width": 1280, "height": 900})
            response = page.goto(url)
            assert response.status == 200, url
            assert page.locator("html").get_attribute("lang") == language
            found = axe_findings(page)
            if found:
                findings[f"{language} {path}"] = found
            name = f"a11y-{who}-{language}-{path.strip('/').replace('/', '_').replace('?', '_')}"
            shot(page, f"{name}-desktop")
            page.set_viewport_size({"width": 390, "height": 844})
            # Long Dutch and French words must not push the page sideways on a phone.
            wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if wide > 1:
                culprit = page.evaluate(WIDEST_ELEMENT)
                overflowing.append(f"{language} {path}: {wide}px ({culprit})")
            shot(page, f"{name}-phone")
    context.close()
    assert findings == {}
    assert overflowing == []


def test_sign_in_and_error_pages_are_accessible(demo_url, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = context.new_page()
    findings = {}
    for language in ("nl", "fr"):
        page.goto(f"{demo_url}/login")
        switch_language(page, language)
        for path in ("/login", "/password/forgotten", "/no-such-page"):
            page.goto(demo_url + path)
            findings[f"{language} {path}"] = axe_findings(page)
            shot(page, f"a11y-anonymous-{language}-{path.strip('/').replace('/', '-')}")
    context.close()
    assert all(not found for found in findings.values()), findings


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_a_summit_planned_with_a_whole_delegation(app, base_url, browser, language, tmp_path):
    """An officer plans a summit, uploads a delegation of 30, corrects the line the
    preview refuses, applies the standard sets, records the approval and decides the
    delegation; the local police acknowledges the event's measures in one step."""
    t = translator(language)
    step = f"{language}-summit-"
    start = clock.today() + dt.timedelta(days=10)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=language)
    page = context.new_page()
    sign_in(page, base_url, "officer@test.example", app, t=t, step=step)
    page.goto(f"{base_url}/events/standard-measures")
    for category, kind, partner in (
        ("head_of_state", "Close protection", "Federal Police DAP"),
        ("minister", "Patrols", "Police zone Brussels-Capital-Ixelles"),
    ):
        page.get_by_label(t("VIP category")).select_option(category)
        page.get_by_label(t("Type of measure")).select_option(label=t(kind))
        page.get_by_label(t("Carried out by")).select_option(label=partner)
        page.get_by_role("button", name=t("Add"), exact=True).click()
        page.get_by_text(t("Added to the set.")).wait_for()

    page.goto(f"{base_url}/events/")
    page.get_by_role("link", name=t("Plan an event")).click()
    page.get_by_label(t("Name")).fill("Europese Raad / Conseil européen")
    page.get_by_label(t("Kind of event")).select_option("european_summit")
    page.get_by_label(t("Starts on")).fill(start.isoformat())
    page.get_by_label(t("Ends on")).fill((start + dt.timedelta(days=1)).isoformat())
    page.get_by_label(t("Place")).fill("Brussel, Europagebouw")
    page.get_by_label(t("Host")).fill("Voorzitterschap van de Raad")
    page.get_by_role("button", name=t("Save")).click()
    page.get_by_text(t("Event saved.")).wait_for()

    page.get_by_role("link", name=t("Add a whole delegation")).click()
    lines = ["name,country,function,category"]
    lines.append("Président de la République,France,Head of state,head_of_state")
    lines += [f"Ministre {n},France,Minister,minister" for n in range(9)]
    lines += [f"Conseiller {n},France,Adviser,other" for n in range(19)]
    lines.append("Conseiller spécial,France,Adviser,emperor")  # the line to correct
    listing = tmp_path / "france.csv"
    listing.write_text("\n".join(lines), encoding="utf-8")
    page.get_by_label(t("Delegation"), exact=True).fill("France")
    page.get_by_label(t("Or a file (CSV or XLSX)")).set_input_files(str(listing))
    page.get_by_role("button", name=t("Preview")).click()
    page.locator("tr.table-danger").wait_for()
    assert "emperor" in page.locator("tr.table-danger").inner_text()
    shot(page, f"{step}01-preview-refuses-a-line")
    text = page.get_by_label(t("The list")).input_value()
    page.get_by_label(t("The list")).fill(text.replace("emperor", "other"))
    page.get_by_role("button", name=t("Preview")).click()
    page.get_by_role("button", name=t("Create the delegation")).click()
    page.locator(".alert-success").first.wait_for()
    reference = f"VIP-{clock.today().year}-0001"

    page.get_by_label(reference).check()
    page.get_by_label(t("Step")).select_option("start_assessment")
    page.get_by_role("button", name=t("Apply to the chosen delegations")).click()
    page.get_by_role("link", name=reference).first.click()
    page.get_by_role("link", name=t("Record an assessment")).click()
    page.get_by_label(t("Threat level")).select_option("2")
    page.get_by_label(t("Summary")).fill("Geen specifieke dreiging / Pas de menace spécifique.")
    page.get_by_role("button", name=t("Record"), exact=True).click()
    page.get_by_text(t("Threat assessment recorded.")).wait_for()
    page.goto(f"{base_url}/events/")
    page.get_by_role("link", name="Europese Raad / Conseil européen").click()
    page.get_by_role("button", name=t("Apply the standard measures")).click()
    page.locator(".alert-success").first.wait_for()
    page.get_by_label(t("Approved on")).fill(clock.today().isoformat())
    page.get_by_label(t("Approval reference")).fill("BiZa/2026/42")
    page.get_by_role("button", name=t("Record for the event")).click()
    page.get_by_text(t("Approval recorded for:"), exact=False).wait_for()
    page.get_by_label(reference).check()
    page.get_by_label(t("Step")).select_option("decide_measures")
    page.get_by_role("button", name=t("Apply to the chosen delegations")).click()
    page.get_by_text(
        t("Done (%(label)s):") % {"label": t("Decide measures")}, exact=False
    ).wait_for()
    assert (
        t("Measures decided")
        in page.locator("#delegations-heading").locator("..").locator("..").inner_text()
    )
    shot(page, f"{step}02-event-page")
    context.close()

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=language)
    page = context.new_page()  # the local police, on a phone
    sign_in(page, base_url, "partner@test.example", t=t)
    page.goto(f"{base_url}/measures/events/")
    page.get_by_role("link", name="Europese Raad / Conseil européen").click()
    assert page.locator('input[name="measure"]').count() == 9  # the nine ministers' patrols
    assert "Président de la République" not in page.content()  # the federal police's
    shot(page, f"{step}03-partner-event-group")
    page.get_by_role("button", name=t("Acknowledge the chosen measures")).click()
    plural = Translations.load(str(CATALOGS), [language]).ngettext
    acknowledged = plural("Acknowledged: %(num)d measure.", "Acknowledged: %(num)d measures.", 9)
    page.get_by_text(acknowledged % {"num": 9}).wait_for()
    shot(page, f"{step}04-partner-acknowledged")
    context.close()


NEW_PARTNER_PASSWORD = "Quiet-Harbour-Lantern-58"


@pytest.fixture
def fresh_url(tmp_path):
    """An installation as the README starts one: migrated, an admin and an officer made on
    the command line (their second factor set up, as after their first sign-in); no demo."""
    from conftest import database_url

    app = create_app({"CONFIG_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url(tmp_path)})
    with app.app_context():
        db.drop_all()
        forget_migrations()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    for email, role in (("admin@fresh.example", "admin"), ("officer@fresh.example", "officer")):
        made = runner.invoke(args=["create-user", email, "--role", role], input=PASSWORD + "\n")
        assert made.exit_code == 0, made.output
    with app.app_context():
        for user in db.session.scalars(select(User)):
            user.totp_secret = pyotp.random_base32()
            user.totp_confirmed_at = clock.now_utc()
        db.session.commit()
    with serving(app) as url:
        yield app, url
    with app.app_context():
        db.session.remove()
        db.drop_all()
        forget_migrations()
        db.engine.dispose()


def test_a_fresh_installation_decides_its_first_measure_in_dutch(fresh_url, browser):
    app, base_url = fresh_url
    t = translator("nl")
    step = "nl-fresh-"
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE")
    page = context.new_page()
    sign_in(page, base_url, "admin@fresh.example", app, t=t, step=step)

    # The admin: a partner service, a type of measure, the partner's first account.
    page.goto(f"{base_url}/admin/organisations/new")
    page.get_by_label(t("Name")).fill("Politiezone Leuven")
    page.get_by_label(t("Kind")).select_option("local_police")
    page.get_by_label(t("Functional mailbox")).fill("dispatch@leuven.example")
    page.get_by_role("button", name=t("Save")).click()
    page.get_by_text(t("Organisation saved.")).wait_for()
    page.goto(f"{base_url}/admin/measure-types")
    shot(page, f"{step}01-no-measure-type-yet")
    page.goto(f"{base_url}/admin/measure-types/new")
    page.get_by_label(t("Name in Dutch")).fill("Camerabewaking")
    page.get_by_label(t("Name in French")).fill("Vidéosurveillance")
    page.get_by_label(t("Name in English")).fill("Camera surveillance")
    page.get_by_role("button", name=t("Save")).click()
    page.get_by_text(t("Measure type saved.")).wait_for()
    shot(page, f"{step}02-measure-type-saved")
    page.goto(f"{base_url}/admin/users/new")
    page.get_by_label(t("Email")).fill("inspecteur@leuven.example")
    page.get_by_label(t("Full name")).fill("Inspecteur Claes")
    page.get_by_label(t("Role")).select_option("partner")
    page.get_by_label(t("Organisation")).select_option(label="Politiezone Leuven")
    page.get_by_label(t("Password")).fill("Tilted-Lantern-Orchard-93")
    page.get_by_role("button", name=t("Save")).click()
    page.get_by_text(t("User created.")).wait_for()
    page.get_by_role("button", name=t("Sign out")).click()

    # The officer: a dossier, a person, an assessment, the new type for the new partner.
    sign_in(page, base_url, "officer@fresh.example", app, t=t, step=step)
    page.goto(f"{base_url}/dossiers/new")
    page.get_by_label(t("Kind")).select_option("threatened_person")
    page.get_by_label(t("Title")).fill("Schepen bedreigd – Leuven")
    page.get_by_label(t("Ground of the threat")).select_option("function")
    page.get_by_role("button", name=t("Open the dossier")).click()
    page.get_by_role("link", name=t("Add a person")).click()
    page.get_by_label(t("Name"), exact=True).fill("An Claessens")
    page.get_by_label(t("Function")).fill("Schepen")
    page.get_by_role("button", name=t("Add the person")).click()
    page.get_by_role("button", name=t("Start assessment")).click()
    page.get_by_text(t("Done: %(label)s.") % {"label": t("Start assessment")}).wait_for()
    # The step to decide is there, disabled, with what it still needs.
    decide = page.get_by_role("button", name=t("Decide measures"))
    assert decide.is_disabled()
    assert t("Record a threat assessment with a level first.") in page.content()
    shot(page, f"{step}03-what-the-decision-needs")
    page.get_by_role("link", name=t("Record an assessment")).click()
    page.get_by_label(t("Threat level")).select_option("2")
    page.get_by_label(t("Summary")).fill("Bedreigingen op sociale media.")
    page.get_by_role("button", name=t("Record"), exact=True).click()
    page.get_by_role("link", name=t("Add a measure")).click()
    page.get_by_label(t("Type of measure")).select_option(label="Camerabewaking")
    page.get_by_label(t("Description")).fill("Camera aan de voordeur.")
    page.get_by_label(t("Carried out by")).select_option(label="Politiezone Leuven")
    page.get_by_role("button", name=t("Add the measure")).click()
    page.get_by_text(t("Measure added.")).wait_for()
    assert not decide.is_disabled()
    decide.click()
    page.get_by_text(t("Done: %(label)s.") % {"label": t("Decide measures")}).wait_for()
    shot(page, f"{step}04-first-measure-decided")
    page.get_by_role("button", name=t("Sign out")).click()

    # The partner: first a password of their own, then the measure.
    sign_in(
        page, base_url, "inspecteur@leuven.example", app, password="Tilted-Lantern-Orchard-93", t=t
    )
    page.get_by_label(t("Current password")).wait_for()
    shot(page, f"{step}05-partner-chooses-a-password")
    page.get_by_label(t("Current password")).fill("Tilted-Lantern-Orchard-93")
    page.get_by_label(t("New password"), exact=True).fill(NEW_PARTNER_PASSWORD)
    page.get_by_label(t("New password again")).fill(NEW_PARTNER_PASSWORD)
    page.get_by_role("button", name=t("Change password")).click()
    page.goto(f"{base_url}/measures/")
    assert "Camerabewaking" in page.content()
    shot(page, f"{step}06-partner-sees-the-measure")
    context.close()


@pytest.mark.parametrize("language", ["fr"])
def test_an_officer_corrects_a_decided_measure_and_withdraws_one_in_french(
    app, base_url, browser, language
):
    t = translator(language)
    step = f"{language}-correct-"
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        measure = dossier.measures[0]
        partner = db.session.scalars(select(User).where(User.email == "partner@test.example")).one()
        measures.report_on_measure(measure, MeasureStatus.ACKNOWLEDGED, "", partner)
        db.session.commit()
        reference, measure_id = dossier.reference, measure.id
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-BE")
    page = context.new_page()
    page.goto(f"{base_url}/login")
    switch_language(page, language)
    sign_in(page, base_url, "officer@test.example", app, t=t, step=step)
    page.goto(f"{base_url}/dossiers/{reference}")
    page.locator(f'a[href$="/measures/{measure_id}/edit"]').click()
    shot(page, f"{step}01-correction-form")
    page.get_by_label(t("Carried out by")).select_option(label="Federal Police DAP")
    page.get_by_label(t("End date (empty while in force)")).fill(
        (clock.today() + dt.timedelta(days=30)).isoformat()
    )
    page.get_by_role("button", name=t("Save the correction")).click()
    page.get_by_text(t("Measure corrected.")).wait_for()
    timeline = page.locator(".timeline").inner_text()
    assert f"{t('partner')} Police zone Brussels-Capital-Ixelles → Federal Police DAP" in timeline
    shot(page, f"{step}02-timeline-says-from-what-to-what")
    with app.app_context():
        corrected = db.session.get(Measure, measure_id)
        assert corrected.organisation.name == "Federal Police DAP"
        assert corrected.status is MeasureStatus.REQUESTED

    page.locator(f'a[href$="/measures/{measure_id}/withdraw"]').click()
    page.get_by_role("button", name=t("Withdraw")).click()
    assert page.locator(".invalid-feedback").first.is_visible()  # a reason is required
    page.get_by_label(t("Why is it withdrawn?")).fill("Encodée dans le mauvais dossier.")
    page.get_by_role("button", name=t("Withdraw")).click()
    page.get_by_text(t("Measure withdrawn.")).wait_for()
    assert "Encodée dans le mauvais dossier." in page.content()
    shot(page, f"{step}03-withdrawn-measure-stays-in-view")
    context.close()


def test_an_invited_partner_is_told_of_new_measures_acknowledges_one_and_declines_one(
    app, base_url, browser, tmp_path
):
    """Mail end to end through the development mailbox: the admin invites a partner, whose
    invitation sets their password; the new measures' mail leads them to one, which they
    acknowledge; they decline the other with a reason, and the officer sees it."""
    from builders import officer, ready_to_decide

    from dossiers import notifications, workflow
    from dossiers.scheduled import schedule

    app.config.update(MAIL_BACKEND="file", MAIL_FOLDER=str(tmp_path / "mail"), PUBLIC_URL=base_url)
    fr = translator("fr")
    own = "Quiet-Lantern-Over-The-Scheldt-7"

    def sender_round():
        with app.app_context():
            schedule()
            notifications.send_due()

    def last_mail_link(admin, subject_part: str) -> str:
        admin.goto(f"{base_url}/admin/mailbox")
        admin.get_by_role("link", name=re.compile(re.escape(subject_part))).first.click()
        admin.wait_for_load_state()
        return admin.locator(".mail-body a").first.get_attribute("href")

    # The admin invites a police partner: no password typed.
    admin_context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    admin = admin_context.new_page()
    sign_in(admin, base_url, "admin@test.example", app, step="mail-")
    admin.goto(f"{base_url}/admin/users/new")
    admin.get_by_label("Email").fill("inspectrice@zone.example")
    admin.get_by_label("Full name").fill("Inspectrice Claire Dubois")
    admin.get_by_label("Role").select_option("partner")
    admin.get_by_label("Organisation").select_option(label="Police zone Brussels-Capital-Ixelles")
    shot(admin, "mail-01-admin-invites")
    admin.get_by_role("button", name="Save").click()
    admin.get_by_text("An invitation is on its way to inspectrice@zone.example").wait_for()

    # The sender writes it to the development mailbox, where the admin reads it.
    sender_round()
    with app.app_context():
        zone = db.session.scalars(
            select(Organisation).where(Organisation.name.startswith("Police zone"))
        ).one()
        zone.mailbox, zone.language = "dispatch@zone.example", "fr"
        db.session.commit()
    invitation = last_mail_link(admin, "Uw account")  # the service's language: not yet French
    shot(admin, "mail-02-dev-mailbox-invitation")
    assert invitation.startswith(f"{base_url}/account/link?token=")

    # The partner follows it and chooses a password, in French.
    partner_context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr")
    partner = partner_context.new_page()
    partner.goto(invitation)
    partner.wait_for_url(f"{base_url}/account/password")  # the token left the address bar
    partner.get_by_label(fr("New password"), exact=True).fill(own)
    partner.get_by_label(fr("New password again")).fill(own)
    shot(partner, "mail-03-partner-chooses-password")
    partner.get_by_role("button", name=fr("Set my password")).click()
    partner.get_by_text(fr("Your password is set. Sign in with it.")).wait_for()
    sign_in(partner, base_url, "inspectrice@zone.example", password=own, t=fr)
    partner.wait_for_url(f"{base_url}/measures/")
    # A used link is gone.
    assert partner_context.new_page().goto(invitation).status in (409, 410)

    # The centre decides two measures for the zone; its mailbox is told, in French.
    with app.app_context():
        dossier = dossier_in(DossierState.INTAKE)
        workflow.transition(dossier, "start_assessment", officer())
        first, second = ready_to_decide(dossier), ready_to_decide(dossier)
        workflow.transition(dossier, "decide_measures", officer())
        db.session.commit()
        reference, first_id, second_id = dossier.reference, first.id, second.id
    sender_round()
    link = last_mail_link(admin, f"Nouvelle mesure de protection pour votre service – {reference}")
    shot(admin, "mail-04-dev-mailbox-new-measure")
    assert "Jan Peeters" not in admin.content()  # no personal data in the mail
    assert link in (f"{base_url}/measures/{first_id}", f"{base_url}/measures/{second_id}")

    partner.goto(f"{base_url}/measures/")
    shot(partner, "mail-05-partner-new-measures")
    new = Translations.load(str(CATALOGS), ["fr"]).pgettext("measure", "New")
    assert partner.locator(".badge", has_text=new).count() == 2
    partner.goto(f"{base_url}/measures/{first_id}")
    partner.get_by_role("button", name=fr("Acknowledge")).click()
    partner.get_by_text(fr("Report recorded.")).wait_for()
    shot(partner, "mail-06-partner-acknowledged")

    partner.goto(f"{base_url}/measures/{second_id}")
    partner.get_by_role("button", name=fr("Decline this measure")).click()
    partner.get_by_text(fr("Write your reason or question first.")).wait_for()  # in place
    partner.get_by_label(fr("Reason or question")).fill(
        "Pas d’effectifs le week-end du 12 : nous proposons la zone voisine."
    )
    partner.get_by_role("button", name=fr("Decline this measure")).click()
    partner.get_by_text(fr("Your message has gone to the crisis centre.")).wait_for()
    shot(partner, "mail-07-partner-declined")
    partner_context.close()

    # The lead officer is told by mail, and sees it on the dashboard.
    sender_round()
    admin.goto(f"{base_url}/admin/mailbox")
    assert "A partner declined a protection measure" in admin.content() or (
        "Een partner weigert een beschermingsmaatregel" in admin.content()
    )
    admin_context.close()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    sign_in(page, base_url, "officer@test.example", app)
    page.wait_for_url(f"{base_url}/dashboard/")
    messages = page.locator(
        "section", has=page.get_by_role("heading", name="Messages from partners")
    )
    assert reference in messages.inner_text() and "Declined" in messages.inner_text()
    shot(page, "mail-08-officer-dashboard-message")
    messages.get_by_role("link", name=re.compile(reference)).first.click()
    page.get_by_text("Pas d’effectifs le week-end du 12").first.wait_for()
    shot(page, "mail-09-officer-dossier-message")
    context.close()
