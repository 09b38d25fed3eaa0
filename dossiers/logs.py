"""Structured logs: one JSON object a line, each with the request's id.

JSON encoding escapes newlines, so user input cannot forge a line. Only paths are
logged, never query strings or form fields: a search may hold a person's name.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import traceback
import uuid

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

_SAFE_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
log = logging.getLogger("dossiers")


class StderrHandler(logging.StreamHandler):
    """Write to whatever sys.stderr is at the time (a test's capture, gunicorn's)."""

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass


class RequestContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


# From a "?" to the end of the request target: up to " HTTP/" in a request line, a
# closing quote, or the end of the line (a query may hold spaces in a malformed line).
_QUERY = re.compile(r"\?.*?(?= HTTP/|['\"]|$)", re.M)


def without_query_strings(text: str) -> str:
    return _QUERY.sub("?…", text)


_QUOTED = re.compile(r"'[^']*'")


class PathsOnly(logging.Filter):
    """Cut query strings out of a record, message and traceback alike. gunicorn's error
    log names the request it failed on (`Error handling request GET /…?q=…`), and a
    query can hold a searched name. Of a malformed request it quotes a piece (a request
    line, a version, a header), cut at a space anywhere: it keeps only what was wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = without_query_strings(record.getMessage())
        if message.startswith("Invalid request from"):
            message = _QUOTED.sub("'…'", message)
        record.msg, record.args = message, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = without_query_strings(record.exc_text)
        return True


def request_id() -> str:
    return g.get("request_id", "-")


def register(app: Flask) -> None:
    handler = StderrHandler()
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(RequestContext())
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = not app.config.get("LOG_JSON_ONLY", False)
    app.logger.handlers[:] = [handler]

    @app.before_request
    def start() -> None:
        # Behind a load balancer the incoming id ties our line to its own; else a new one.
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SAFE_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = request_id()
        if request.endpoint not in ("static", "bootstrap.static"):
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path[:200],
                    "status": response.status_code,
                    "ms": round(
                        (time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1
                    ),
                },
            )
        return response
