"""gunicorn settings for `make serve`. Its Server header names no version."""

import os

from gunicorn import glogging

from dossiers.logs import PathsOnly

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WORKERS", "2"))
# Paths only: a query string can hold a person's name (a search).
accesslog = "-"
access_log_format = '{"remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", "ms": %(M)s, "request_id": "%({x-request-id}o)s"}'
errorlog = "-"


class PathsOnlyLogger(glogging.Logger):
    """gunicorn's own error log keeps paths only too (dossiers/logs.py: PathsOnly)."""

    def setup(self, cfg):  # type: ignore[no-untyped-def]
        super().setup(cfg)
        self.error_log.addFilter(PathsOnly())


logger_class = PathsOnlyLogger
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
