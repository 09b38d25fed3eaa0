"""Static files under fingerprinted names, compressed and cached for good; pages
compressed only for requests that no other site can have caused (BREACH)."""

from __future__ import annotations

import gzip
import re
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import brotli
import pytest

from dossiers import delivery

STATIC_LINK = re.compile(r'(?:href|src)="(/(?:bootstrap/)?static/[^"]+)"')
FINGERPRINTED = re.compile(r"\.[0-9a-f]{12}\.[a-z0-9]+$")
TEN_YEARS = 10 * 365 * 24 * 3600


def linked_static(html: str) -> list[str]:
    return STATIC_LINK.findall(html)


def test_pages_link_fingerprinted_names_only(client, login):
    for page in (client.get("/login").text, login("officer").get("/dashboard/").text):
        links = linked_static(page)
        assert len(links) == 3  # Bootstrap, app.css, the icon
        assert all(FINGERPRINTED.search(link) for link in links), links


def test_a_fingerprint_follows_the_content():
    one, other = (delivery.fingerprint("css/site.min.css", body) for body in (b"a{}", b"b{}"))
    assert re.fullmatch(r"css/site\.min\.[0-9a-f]{12}\.css", one)
    assert one != other and one == delivery.fingerprint("css/site.min.css", b"a{}")


def test_a_build_is_made_once_per_content_and_old_ones_go(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    app = SimpleNamespace(config={"STATIC_BUILD_FOLDER": str(tmp_path / "built")})

    def build(css: str) -> tuple[Path, str]:
        (source / "site.css").write_text(css)
        hashed = delivery.fingerprint("site.css", css.encode())
        files = [delivery.Source("static", source, "/static/", ("site.css",))]
        return delivery.built(app, files, {"static": {"site.css": hashed}}), hashed

    first, hashed = build("a { color: red; }\n" * 50)
    names = {hashed, "site.css"}
    assert {p.name for p in (first / "static").iterdir()} == {
        f"{name}{variant}" for name in names for variant in ("", ".gz", ".br")
    }
    assert build("a { color: red; }\n" * 50)[0] == first  # the same content: built once
    for n in range(delivery.KEEP_BUILDS + 1):
        latest, _ = build(f"b {{ width: {n}px; }}\n" * 50)
    assert latest.is_dir() and not first.exists()
    assert len(list((tmp_path / "built").iterdir())) == delivery.KEEP_BUILDS


@pytest.mark.parametrize(
    ("encoding", "decompress"), [("gzip", gzip.decompress), ("br", brotli.decompress)]
)
def test_static_files_go_out_compressed_and_cached_for_good(app, client, encoding, decompress):
    for url in linked_static(client.get("/login").text):
        plain = client.get(url)
        response = client.get(url, headers={"Accept-Encoding": encoding})
        assert response.status_code == 200, url
        assert response.headers["Content-Encoding"] == encoding
        assert decompress(response.data) == plain.data
        assert len(response.data) < len(plain.data)
        assert "Accept-Encoding" in response.headers["Vary"]
        cache = response.headers["Cache-Control"]
        assert "immutable" in cache and f"max-age={TEN_YEARS}" in cache
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        if url.startswith("/static/"):
            name = FINGERPRINTED.sub("", url.removeprefix("/static/"))
            original = next(Path(app.static_folder).glob(name + ".*"))
            assert plain.data == original.read_bytes()
        plain.close()
        response.close()


def test_the_biggest_stylesheet_shrinks_by_far(client):
    url = next(u for u in linked_static(client.get("/login").text) if "bootstrap" in u)
    raw = client.get(url).data
    sent = client.get(url, headers={"Accept-Encoding": "br, gzip"})
    assert sent.headers["Content-Encoding"] == "br"
    assert len(raw) > 200_000 and len(sent.data) < len(raw) / 5


def test_a_plain_name_still_answers_and_is_checked_again(client):
    response = client.get("/static/app.css", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" not in response.headers["Cache-Control"]
    assert "max-age=0" in response.headers["Cache-Control"]
    assert b".keep-lines" in gzip.decompress(response.data)


@pytest.mark.parametrize(
    ("site", "compressed"),
    [
        ("same-origin", True),  # a link or form of our own
        ("none", True),  # the address bar, a bookmark
        ("same-site", False),  # another host of the same site
        ("cross-site", False),  # another site's page: where a BREACH attack comes from
        (None, False),  # a browser that does not say
    ],
)
def test_a_page_is_compressed_only_when_no_other_site_can_have_asked(login, site, compressed):
    headers = {"Accept-Encoding": "gzip, br"}
    if site:
        headers["Sec-Fetch-Site"] = site
    officer = login("officer")
    response = officer.get("/dossiers/", headers=headers)
    assert response.status_code == 200
    assert ("Content-Encoding" in response.headers) is compressed
    assert {"Sec-Fetch-Site", "Accept-Encoding"} <= set(
        v.strip() for v in response.headers["Vary"].split(",")
    )
    if compressed:
        body = brotli.decompress(response.data)
        # The CSRF token's value; its signature carries the second it was signed in.
        assert officer.token.split(".")[0].encode() in body
        assert len(response.data) < len(body) / 2
    assert response.headers["Cache-Control"] == "no-store"


def test_served_compressed_by_gunicorn_in_production(tmp_path):
    from servers import gunicorn

    with gunicorn(
        SECRET_KEY="k" * 40,
        DOSSIERS_CONFIG="production",
        DATABASE_URL=f"sqlite:///{tmp_path}/g.db",
        STATIC_BUILD_FOLDER=str(tmp_path / "static"),
    ) as base:

        def get(path, **headers):
            return urllib.request.urlopen(
                urllib.request.Request(base + path, headers=headers), timeout=5
            )

        page = get("/login", **{"Accept-Encoding": "br", "Sec-Fetch-Site": "none"})
        assert page.headers["Content-Encoding"] == "br"
        links = linked_static(brotli.decompress(page.read()).decode())
        assert links and all(FINGERPRINTED.search(link) for link in links)
        for link in links:
            response = get(link, **{"Accept-Encoding": "gzip"})
            assert response.headers["Content-Encoding"] == "gzip"
            assert "immutable" in response.headers["Cache-Control"]
            assert response.headers["Strict-Transport-Security"].startswith("max-age=")
            gzip.decompress(response.read())
    assert any((tmp_path / "static").iterdir())
