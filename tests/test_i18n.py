"""Dutch, French and English: every message translated, every page in each language, the
language chosen by the user, then the browser; Belgian dates and the locale's numbers."""

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from builders import dossier_in
from conftest import demo_sign_in

from dossiers.extensions import db
from dossiers.models import DossierState, User

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "dossiers" / "translations"
LANGUAGES = ("nl", "fr")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory) -> list:
    """Every message the code and templates use, extracted afresh from the sources."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg"]
        + ["-k", "_l", "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as f:
        return [m for m in read_po(f) if m.id]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_has_a_translation(source_messages, language):
    with (CATALOGS / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=language)
    missing, broken = [], []
    for message in source_messages:
        translated = catalog.get(message.id, message.context)  # a context is part of the key
        strings = (
            translated.string if translated and isinstance(translated.string, tuple) else None
        ) or ((translated.string,) if translated else ("",))
        if not translated or translated.fuzzy or not all(strings):
            missing.append(message.id)
            continue
        wanted = set(PLACEHOLDER.findall(str(message.id)))
        if any(set(PLACEHOLDER.findall(s)) != wanted for s in strings):
            broken.append(message.id)
    assert missing == [], f"{len(missing)} messages lack a {language} translation"
    assert broken == [], f"placeholders differ in {language}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_is_the_translated_one(language):
    folder = CATALOGS / language / "LC_MESSAGES"

    def plain(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    with (folder / "messages.po").open("rb") as f:
        written = {plain(m.id): plain(m.string) for m in read_po(f) if m.id and not m.fuzzy}
    with (folder / "messages.mo").open("rb") as f:
        compiled = {plain(m.id): plain(m.string) for m in read_mo(f) if m.id}
    assert compiled == written, "run `make translations` to compile the catalogues"


PAGES = {
    "officer": ["/dashboard/", "/dossiers/", "/dossiers/new", "{dossier}", "{dossier}/persons"]
    + ["{dossier}/assessments/new", "{dossier}/measures/new", "/statistics/", "/statistics/2023"]
    + ["/statistics/2023/figures/tp_persons"],
    "partner": ["/measures/", "/measures/?show=lifted"],
    "analyst": ["/statistics/", "/statistics/2023", "/statistics/2023/figures/tp_by_level?group=3"],
    "admin": ["/admin/users", "/admin/users/new", "/admin/organisations", "/admin/audit"],
}
# A word each page shows in the language, whatever its data.
SAYS = {
    "nl": ("Afmelden", "Beperkt – need to know"),
    "fr": ("Se déconnecter", "Restreint – besoin d’en connaître"),
    "en": ("Sign out", "Restricted – need to know"),
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
@pytest.mark.parametrize("who", list(PAGES))
def test_every_page_renders_in_each_language(demo_app, who, language):
    session = demo_sign_in(demo_app, who)
    with demo_app.app_context():
        user = db.session.scalars(db.select(User).where(User.email == f"{who}@demo.example")).one()
        user.language = language
        db.session.commit()
        dossier = "/dossiers/TP-2023-0001"
    try:
        for page in PAGES[who]:
            url = page.format(dossier=dossier)
            response = session.get(url)
            assert response.status_code == 200, (url, language)
            assert f'<html lang="{language}">' in response.text, url
            for phrase in SAYS[language]:
                assert phrase in response.text, (url, language, phrase)
    finally:
        with demo_app.app_context():
            user = db.session.scalars(
                db.select(User).where(User.email == f"{who}@demo.example")
            ).one()
            user.language = None
            db.session.commit()


def test_the_browser_language_then_the_choice_before_signing_in(client):
    assert "Aanmelden" in client.get("/login", headers={"Accept-Language": "nl-BE,nl;q=0.9"}).text
    assert "Se connecter" in client.get("/login", headers={"Accept-Language": "fr-BE"}).text
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "de"}).text
    page = client.get("/login", headers={"Accept-Language": "nl"}).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    switched = client.post(
        "/language",
        data={"language": "fr", "csrf_token": token},
        headers={"Referer": "http://localhost/login?next=/dossiers/"},
    )
    assert switched.status_code == 302
    assert switched.headers["Location"] == "/login?next=/dossiers/"
    again = client.get("/login", headers={"Accept-Language": "nl"}).text
    assert "Se connecter" in again and '<html lang="fr">' in again


def test_a_signed_in_choice_is_kept_on_the_account(app, login, user):
    session = login("partner")
    moved = session.post(
        "/language", data={"language": "nl"}, headers={"Referer": "https://evil.example/x"}
    )
    assert moved.status_code == 302
    assert moved.headers["Location"] == "/"  # another site's address is not followed
    with app.app_context():
        assert user("partner").language == "nl"
    # The account's language wins over the browser's, on a new sign-in too.
    fresh = login("partner")
    page = fresh.get("/measures/", headers={"Accept-Language": "fr"}).text
    assert '<html lang="nl">' in page and "Onze maatregelen" in page
    refused = session.post("/language", data={"language": "de"})
    assert refused.status_code == 400
    with app.app_context():
        assert user("partner").language == "nl"


def test_dates_are_belgian_and_numbers_follow_the_language(demo_app):
    session = demo_sign_in(demo_app, "analyst")
    pages = {}
    for language in ("nl", "fr", "en"):
        pages[language] = session.get(
            "/statistics/2023", headers={"Accept-Language": language}
        ).text
    # 1,512 protected attendances in 2023.
    assert ">1.512<" in pages["nl"]
    assert re.search(r">1[\u202f\u00a0 ]512<", pages["fr"])
    assert ">1,512<" in pages["en"]
    for page in pages.values():
        assert "31/12/2023" in page


def test_a_partner_reads_a_measure_in_french(app, login):
    with app.app_context():
        measure_id = dossier_in(DossierState.MEASURES_DECIDED).measures[0].id
    page = login("partner").get(f"/measures/{measure_id}", headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    for phrase in ("Niveau de la menace", "Personne protégée", "Confirmer la réception"):
        assert phrase in page.text


def test_the_form_library_messages_follow_the_language_of_each_request(login):
    session = login("officer")
    bad_date = {"kind": "threatened_person", "title": "x", "opened_on": "31/02/2023"}
    for language, message in (
        ("nl", "Ongeldige datum."),
        ("fr", "N&#39;est pas une date valide."),
        ("nl", "Ongeldige datum."),
        ("en", "Not a valid date value."),
    ):
        page = session.post(
            "/dossiers/new", data=bad_date, headers={"Accept-Language": language}
        ).text
        assert message in page, language


def test_the_kept_catalogue_follows_a_change_of_language_within_a_request(app):
    from flask_babel import force_locale, gettext

    with app.test_request_context("/", headers={"Accept-Language": "nl"}):
        assert gettext("Sign in") == "Aanmelden"
        with force_locale("fr"):
            assert gettext("Sign in") == "Se connecter"
        assert gettext("Sign in") == "Aanmelden"


@pytest.mark.parametrize(
    "stored, shown",
    [
        (dt.datetime(2024, 1, 15, 23, 30), "16/01/2024 00:30"),  # winter: UTC+1, next day
        (dt.datetime(2024, 7, 1, 8, 5), "01/07/2024 10:05"),  # summer: UTC+2
        (dt.datetime(2024, 3, 31, 1, 0), "31/03/2024 03:00"),  # the hour the clocks go forward
    ],
)
def test_times_are_shown_on_the_crisis_centres_clock_as_babel_would(app, stored, shown):
    """Stored in UTC, shown in Brussels time, in digits whatever the language."""
    from flask_babel import force_locale, format_datetime

    from dossiers.clock import moment

    with app.test_request_context():
        for language in ("nl", "fr", "en"):
            with force_locale(language):
                assert moment(stored) == shown
                assert format_datetime(stored, "dd/MM/yyyy HH:mm") == shown
        assert moment(None) == ""
