"""Two app servers on one PostgreSQL: sessions work across them, logout ends both,
and a race between them still has one winner."""

import http.cookiejar
import os
import re
import threading
import urllib.parse
import urllib.request

import pytest
from builders import dossier_in
from conftest import PASSWORD, totp_code
from servers import gunicorn
from sqlalchemy import func, select

from dossiers.auth import new_recovery_codes
from dossiers.extensions import db
from dossiers.models import DossierState, Transition, User

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="several servers share a PostgreSQL database (the PostgreSQL run)",
)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies, CSRF tokens and no automatic redirects: enough to drive the forms."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def open(self, url, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            response = self.opener.open(url, body, timeout=10)
            return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers

    def token(self, url):
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self.open(url)[1]).group(1)

    def sign_in(self, base, email, code=None, home="/measures/"):
        self.page_token = self.token(f"{base}/login")
        self.open(
            f"{base}/login", {"email": email, "password": PASSWORD, "csrf_token": self.page_token}
        )
        if code:
            token = self.token(f"{base}/login/totp")
            self.open(f"{base}/login/totp", {"code": code, "csrf_token": token})
        self.page_token = self.token(f"{base}{home}")


@pytest.fixture
def two_servers(app):
    environment = {"DOSSIERS_CONFIG": "testing", "DATABASE_URL": os.environ["TEST_DATABASE_URL"]}
    with gunicorn(**environment) as first, gunicorn(**environment) as second:
        yield first, second


def test_a_session_made_on_one_server_is_valid_on_the_other_and_ends_on_both(two_servers):
    first, second = two_servers
    browser = Browser()
    browser.sign_in(first, "partner@test.example")
    assert browser.open(f"{second}/measures/")[0] == 200
    token = browser.token(f"{second}/measures/")
    browser.open(f"{second}/logout", {"csrf_token": token})
    status, _, headers = browser.open(f"{first}/measures/")
    assert status == 302 and "/login" in headers["Location"]


def test_a_race_across_servers_has_one_winner(app, two_servers):
    first, second = two_servers
    with app.app_context():
        dossier = dossier_in(DossierState.MEASURES_DECIDED)
        reference, dossier_id = dossier.reference, dossier.id
        officer = db.session.scalars(select(User).where(User.email == "officer@test.example")).one()
        code = totp_code(officer.totp_secret, officer.totp_last_step)
        recovery = new_recovery_codes(officer)
        db.session.commit()
    a, b = Browser(), Browser()
    a.sign_in(first, "officer@test.example", code, home="/dashboard/")
    b.sign_in(second, "officer@test.example", recovery[0], home="/dashboard/")
    forms = {}
    for browser, base in ((a, first), (b, second)):
        page = browser.open(f"{base}/dossiers/{reference}")[1]
        forms[base] = {
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
            "version": re.search(r'name="version" value="(\d+)"', page).group(1),
            "seen": re.search(r'name="seen" value="(\d+)"', page).group(1),
        }
    barrier = threading.Barrier(2)
    statuses = []

    def fire(browser, base, name, reason):
        barrier.wait(timeout=10)
        status, body, headers = browser.open(
            f"{base}/dossiers/{reference}/transition/{name}", {**forms[base], "reason": reason}
        )
        statuses.append(status)

    threads = [
        threading.Thread(target=fire, args=(a, first, "close", "Calm")),
        threading.Thread(target=fire, args=(b, second, "reassess", "New letters")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(status in (302, 409) for status in statuses)
    with app.app_context():
        moves = db.session.scalar(
            select(func.count()).select_from(Transition).where(Transition.dossier_id == dossier_id)
        )
    assert moves == 3  # start, decide, and exactly one of the two
