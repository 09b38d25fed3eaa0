"""Response headers that keep pages from being framed, sniffed, cached or injected."""

from __future__ import annotations

import base64
import hashlib
import html
import re

from flask import Flask, Response, current_app, request
from flask_login import current_user

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


def secure_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.endpoint not in ("static", "bootstrap.static") and current_user.is_authenticated:
        # Pages about people under threat stay out of every cache, the browser's too.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def register(app: Flask) -> None:
    app.after_request(secure_headers)
