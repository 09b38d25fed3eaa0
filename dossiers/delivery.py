"""How responses travel: static files under content-hashed names, compressed ahead of
time and served by WhiteNoise; pages compressed only for requests a third party
cannot have caused (BREACH).

Static files: at start-up each file is copied under a fingerprinted name
(``app.<sha256:12>.css``) into a build folder named after the content of them all,
with its gzip and Brotli variants (WhiteNoise's compressor). ``url_for('static', ...)``
and ``url_for('bootstrap.static', ...)`` answer the fingerprinted name, which WhiteNoise
serves as immutable for ten years; the plain name still answers, revalidated each time.
A second process finding the folder built uses it; two building at once both succeed
(each builds aside and renames, the loser discards its copy).

Pages: every page holds a CSRF token and personal data, and some reflect what a URL
asked (a search). Compressing a secret next to attacker-chosen text lets the length
of the answer reveal the secret (BREACH). The attacker needs the victim's browser to
send its requests, from a page of theirs, and a browser says so: ``Sec-Fetch-Site`` is
``cross-site`` or ``same-site`` then, a header no page can forge. So a page is
compressed only when the request came from our own pages (``same-origin``) or the
person themselves (``none``: the address bar, a bookmark); otherwise, and for browsers
that send no such header, it goes out as it is.
"""

from __future__ import annotations

import hashlib
import posixpath
import shutil
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.util import FileWrapper

from flask import Flask, Response, request
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

from . import security
from .extensions import compress

# The Bootstrap files the templates link; any other goes out plain, by Bootstrap-Flask.
BOOTSTRAP_FILES = ("css/bootstrap.min.css",)
# Bumped when the build changes in a way the files' content does not show.
BUILD_FORMAT = "1"
DIGEST_LENGTH = 12
# A fingerprinted name never changes content: cached as long as WhiteNoise allows.
# A plain name (nothing of ours links one) is checked again at every use.
PLAIN_MAX_AGE = 0
# Builds kept, the latest used first: a server still running an older version (during a
# rolling restart) keeps its files.
KEEP_BUILDS = 3

# Who may have caused a request, by its Sec-Fetch-Site: only these get compressed pages.
UNFORGED_SITES = frozenset({"same-origin", "none"})
PAGE_MIMETYPES = ["text/html", "text/csv", "text/plain", "application/json", "image/svg+xml"]


@dataclass(frozen=True)
class Source:
    """The files one static endpoint serves from one folder, under one URL prefix."""

    endpoint: str
    folder: Path
    prefix: str
    names: tuple[str, ...]


class ClosingFileWrapper(FileWrapper):
    """A file body that closes once read to its end, not only when the server calls
    close(): the test client leaves that to whoever reads the response."""

    def __next__(self) -> bytes:
        try:
            return super().__next__()
        except StopIteration:
            self.close()
            raise


class StaticFiles(WhiteNoise):
    @staticmethod
    def serve(static_file, environ, start_response):  # type: ignore[no-untyped-def]
        # gunicorn offers its own wrapper (sendfile); werkzeug's servers do not.
        environ.setdefault("wsgi.file_wrapper", ClosingFileWrapper)
        return WhiteNoise.serve(static_file, environ, start_response)


def register(app: Flask) -> None:
    register_page_compression(app)
    manifest = serve_static(app)

    @app.url_defaults
    def fingerprinted(endpoint: str, values: dict[str, Any]) -> None:
        names = manifest.get(endpoint)
        if names and values.get("filename") in names:
            values["filename"] = names[values["filename"]]


def register_page_compression(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", PAGE_MIMETYPES)
    # What the static files have too, and what every checker counts as compressed.
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    # Streams are exports of many rows: left alone, as before (XLSX is a zip anyway).
    app.config.setdefault("COMPRESS_STREAMS", False)
    app.config["COMPRESS_REGISTER"] = False  # compress_page decides, request by request
    compress.init_app(app)
    app.after_request(compress_page)


def compress_page(response: Response) -> Response:
    response.vary.add("Sec-Fetch-Site")
    if request.headers.get("Sec-Fetch-Site") not in UNFORGED_SITES:
        response.vary.add("Accept-Encoding")
        return response
    return compress.after_request(response)


def sources(app: Flask) -> list[Source]:
    own = Path(app.static_folder or "")
    bootstrap = app.blueprints["bootstrap"]
    return [
        Source(
            "static",
            own,
            url_prefix(app, "static"),
            tuple(sorted(p.relative_to(own).as_posix() for p in own.rglob("*") if p.is_file())),
        ),
        Source(
            "bootstrap.static",
            Path(bootstrap.static_folder or ""),
            url_prefix(app, "bootstrap.static"),
            BOOTSTRAP_FILES,
        ),
    ]


def url_prefix(app: Flask, endpoint: str) -> str:
    """'/static/' for the rule '/static/<path:filename>'."""
    rule = next(iter(app.url_map.iter_rules(endpoint))).rule
    return rule.split("<", 1)[0]


def fingerprint(name: str, content: bytes) -> str:
    """'css/site.css' becomes 'css/site.<first 12 hex of its sha256>.css'."""
    digest = hashlib.sha256(content).hexdigest()[:DIGEST_LENGTH]
    stem, suffix = posixpath.splitext(name)
    return f"{stem}.{digest}{suffix}"


def serve_static(app: Flask) -> dict[str, dict[str, str]]:
    """Wrap the app in WhiteNoise over a build of the static files; answer each
    endpoint's fingerprinted names."""
    found = sources(app)
    manifest = {
        source.endpoint: {
            name: fingerprint(name, (source.folder / name).read_bytes()) for name in source.names
        }
        for source in found
    }
    build = built(app, found, manifest)
    headers = security.standing_headers(app.config)

    def add_headers(response_headers, path: str, url: str) -> None:  # type: ignore[no-untyped-def]
        for name, value in headers.items():
            response_headers[name] = value

    immutable = frozenset(
        source.prefix + hashed for source in found for hashed in manifest[source.endpoint].values()
    )
    whitenoise = StaticFiles(
        app.wsgi_app,
        max_age=PLAIN_MAX_AGE,
        allow_all_origins=False,
        add_headers_function=add_headers,
        immutable_file_test=lambda path, url: url in immutable,
    )
    for source in found:
        whitenoise.add_files(str(build / source.endpoint), prefix=source.prefix)
    app.wsgi_app = whitenoise  # type: ignore[method-assign]
    return manifest


def built(app: Flask, found: list[Source], manifest: dict[str, dict[str, str]]) -> Path:
    """The build folder for this content, made once."""
    root = Path(app.config.get("STATIC_BUILD_FOLDER") or Path(app.instance_path) / "static")
    key = hashlib.sha256(BUILD_FORMAT.encode())
    for source in found:
        for name, hashed in manifest[source.endpoint].items():
            key.update(f"{source.endpoint}\0{name}\0{hashed}\0".encode())
    folder = root / key.hexdigest()[:16]
    if folder.is_dir():
        folder.touch()  # used: kept by remove_old_builds
        return folder
    root.mkdir(parents=True, exist_ok=True)
    aside = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
    try:
        compressor = Compressor(quiet=True)
        for source in found:
            for name, hashed in manifest[source.endpoint].items():
                write_with_variants(
                    compressor, source.folder / name, aside / source.endpoint, name, hashed
                )
        aside.rename(folder)  # atomic; fails if another process got there first
    except OSError:
        if not folder.is_dir():
            raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)
    remove_old_builds(root, keep=folder)
    return folder


def write_with_variants(
    compressor: Compressor, original: Path, into: Path, name: str, hashed: str
) -> None:
    """The file under its fingerprinted name and its plain one, each with the gzip and
    Brotli variants worth having (compressed once, copied to the plain name)."""
    target = into / hashed
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(original, target)
    variants = compressor.compress(str(target)) if compressor.should_compress(hashed) else []
    plain = into / name
    for path in [str(target), *variants]:
        shutil.copy2(path, str(plain) + path[len(str(target)) :])


def remove_old_builds(root: Path, keep: Path) -> None:
    """All but the KEEP_BUILDS last used, and what a crashed build left an hour ago.
    Best effort: another process may be building or removing at the same moment."""
    with suppress(OSError):
        builds = sorted(
            (f for f in root.iterdir() if f.is_dir() and not f.name.startswith(".")),
            key=lambda f: f.stat().st_mtime,
            reverse=True,
        )
        stale = [f for f in root.glob(".building-*") if f.stat().st_mtime < time.time() - 3600]
        for folder in [*builds[KEEP_BUILDS:], *stale]:
            if folder != keep:
                shutil.rmtree(folder, ignore_errors=True)
