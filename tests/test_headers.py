"""Security headers, inline-free pages, and caching of authenticated pages."""

import base64
import hashlib
import html
import re

from builders import dossier_in

from dossiers import create_app
from dossiers.models import DossierKind, DossierState


def test_policy_headers_on_every_page(client, login):
    for response in (client.get("/login"), login("officer").get("/dashboard/")):
        csp = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in response.headers  # not over plain http


def test_hsts_in_production(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    app = create_app(
        {"CONFIG_NAME": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"}
    )
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_authenticated_pages_are_never_cached(client, login):
    assert login("officer").get("/dossiers/").headers["Cache-Control"] == "no-store"
    assert login("partner").get("/measures/").headers["Cache-Control"] == "no-store"


INLINE = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", re.I)


def test_pages_carry_no_inline_script_or_style(app, login):
    with app.app_context():
        tp = dossier_in(DossierState.MEASURES_DECIDED)
        vip = dossier_in(DossierState.ASSESSMENT, DossierKind.VIP_PROTECTION)
        urls = [
            "/dashboard/",
            "/dossiers/",
            "/dossiers/new",
            f"/dossiers/{tp.reference}",
            f"/dossiers/{vip.reference}",
            f"/dossiers/{tp.reference}/persons?q=Jan",
            f"/dossiers/{vip.reference}/event",
            f"/dossiers/{tp.reference}/measures/new",
            f"/statistics/{tp.opened_on.year}",
        ]
        measure_id = tp.measures[0].id
    officer = login("officer")
    for url in urls:
        page = officer.get(url).text
        assert not INLINE.search(page), (url, INLINE.search(page).group(0))
    assert not INLINE.search(login("partner").get(f"/measures/{measure_id}").text)
    assert not INLINE.search(login("admin").get("/admin/users").text)


def test_a_chart_allows_exactly_its_own_style(app, login):
    with app.app_context():
        year = dossier_in(DossierState.MEASURES_DECIDED).opened_on.year
    response = login("analyst").get(f"/statistics/{year}/charts/tp_by_month.svg")
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe" not in policy and "script-src" not in policy  # default-src 'none'
    styles = re.findall(r"<style[^>]*>(.*?)</style>", response.text, re.S)
    assert styles
    for css in styles:
        digest = base64.b64encode(hashlib.sha256(html.unescape(css).encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert " style=" not in response.text


def test_gunicorn_names_no_version(tmp_path):
    import urllib.request

    from servers import gunicorn

    with gunicorn(
        SECRET_KEY="k" * 40, DOSSIERS_CONFIG="production", DATABASE_URL=f"sqlite:///{tmp_path}/g.db"
    ) as base:
        response = urllib.request.urlopen(f"{base}/healthz", timeout=5)
        server_header = response.headers.get("Server", "")
        assert not any(ch.isdigit() for ch in server_header), server_header
        assert response.headers["X-Content-Type-Options"] == "nosniff"
