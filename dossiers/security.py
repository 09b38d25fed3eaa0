"""Response headers that keep pages from being framed, sniffed, cached or injected, and
the client address a request is counted against."""

from __future__ import annotations

import base64
import hashlib
import html
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, current_app, request
from flask_login import current_user

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)


def svg_policy(svg: str) -> str:
    """A policy for one SVG document: its own <style> elements allowed by their hash,
    nothing else inline (no 'unsafe-inline')."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"
        # The browser hashes the parsed text: XML entities (&gt; …) count as characters.
        for css in map(html.unescape, _STYLE.findall(svg))
    )
    style_src = hashes or "'none'"
    return f"default-src 'none'; style-src {style_src}; frame-ancestors 'self'"


# A response may bring its own (a chart its policy); the others are the same for all.
OWN_CHOICE = ("Content-Security-Policy", "X-Frame-Options")


def standing_headers(config: Mapping[str, Any]) -> dict[str, str]:
    """The headers every response carries, a page's or a static file's (delivery.py)."""
    headers = {
        "Content-Security-Policy": CSP,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if config.get("SESSION_COOKIE_SECURE"):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


def secure_headers(response: Response) -> Response:
    headers = response.headers
    for name, value in standing_headers(current_app.config).items():
        if name in OWN_CHOICE:
            headers.setdefault(name, value)
        else:
            headers[name] = value
    signing_in = request.blueprint == "auth"  # a TOTP secret, recovery codes: before sign-in
    if signing_in or (
        request.endpoint not in ("static", "bootstrap.static") and current_user.is_authenticated
    ):
        # Pages about people under threat stay out of every cache, the browser's too.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


class TrustedProxy:
    """The client's address behind our own reverse proxies, for the guessing limits, the
    audit trail and the logs. X-Forwarded-For is read only from a peer listed in
    TRUSTED_PROXIES, and only the entry PROXY_HOPS from its right end (what our proxies
    appended; a client's own entries lie further left and are never used); an entry that
    is not an IP address leaves the peer's. Without it every user behind the proxy would
    share one address, and twenty wrong passwords would lock the whole centre out."""

    def __init__(self, app: WSGIApplication, hops: int, trusted: Iterable[str]) -> None:
        self.app = app
        self.hops = hops
        self.trusted = [ipaddress.ip_network(a, strict=False) for a in trusted]

    def client(self, peer: str, forwarded: str) -> str:
        if not _within(peer, self.trusted):
            return peer
        entries = [entry.strip() for entry in forwarded.split(",")]
        if len(entries) < self.hops or not _within(entries[-self.hops], None):
            return peer
        return str(ipaddress.ip_address(entries[-self.hops]))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse):  # type: ignore[no-untyped-def]
        peer = environ.get("REMOTE_ADDR", "")
        environ["REMOTE_ADDR"] = self.client(peer, environ.get("HTTP_X_FORWARDED_FOR", ""))
        return self.app(environ, start_response)


def _within(text: str, networks: list | None) -> bool:
    """Whether the text is an IP address (in one of the networks, when given)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return networks is None or any(address in network for network in networks)


def register(app: Flask) -> None:
    app.after_request(secure_headers)
    hops = app.config.get("PROXY_HOPS", 0)
    if hops:
        app.wsgi_app = TrustedProxy(  # type: ignore[method-assign]
            app.wsgi_app, hops, app.config["TRUSTED_PROXIES"]
        )
