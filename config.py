"""Configuration classes; every value that differs between machines comes from the environment."""

import base64
import hmac
import os
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent / "instance"


def default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'dossiers.db'}"


class Config:
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI = default_database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    SESSION_LIFETIME_HOURS = 12
    SESSION_IDLE_MINUTES = 30
    LOGIN_MAX_FAILURES = 5  # per email, known or not, within the window
    LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    # Wrong second-factor codes (authenticator, recovery or enrolment) per account.
    LOGIN_MAX_CODE_FAILURES = 5
    ENROLMENT_CODE_HOURS = 72
    # Behind a reverse proxy: how many proxies append to X-Forwarded-For, and which peer
    # addresses are ours. A request from any other peer keeps its own address, whatever
    # header it sends; 0 hops (no proxy) ignores the header altogether.
    PROXY_HOPS = 0
    TRUSTED_PROXIES = ("127.0.0.1", "::1")
    LOGIN_FAILURE_WINDOW_MINUTES = 15
    LOGIN_SLOWDOWN_SECONDS = 0.25  # times the failures so far, up to five
    # A forgotten-password request is answered after this long whatever the address, so
    # that the time taken tells nobody whether it has an account.
    RESET_ANSWER_SECONDS = 0.4
    # One process: memory. Several servers: a shared store, e.g. redis://host:6379.
    RATELIMIT_STORAGE_URI = "memory://"
    LOGIN_RATE_LIMIT = "30 per minute"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = 3600 * 8
    BABEL_DEFAULT_LOCALE = "en"
    # The crisis centre works in Dutch and French; English for international partners.
    LANGUAGES = ("nl", "fr", "en")
    PAGE_SIZE = 25
    # The year the centre's records start: a dossier opened before it is a typing error.
    FIRST_YEAR = 2000
    # No form of ours comes near it; a view that takes an upload raises it for itself
    # (request.max_content_length). Larger bodies get a 413 page, unread.
    MAX_CONTENT_LENGTH = 1024 * 1024
    # Where the static files are built, fingerprinted and compressed, at start-up
    # (dossiers/delivery.py); None: instance/static. It must be writable.
    STATIC_BUILD_FOLDER: str | None = None
    # Mail (dossiers/notifications.py). "smtp", or "file": each mail a .eml file in
    # MAIL_FOLDER (default instance/mail), for development.
    MAIL_BACKEND = "smtp"
    MAIL_HOST = "localhost"
    MAIL_PORT = 25
    MAIL_SECURITY = "starttls"  # "starttls", "tls" (implicit, port 465) or "none"
    MAIL_USER = ""
    MAIL_PASSWORD = ""
    MAIL_SENDER = "Crisis Centre <noreply@localhost>"
    MAIL_ID_DOMAIN = "dossiers.local"  # the right-hand side of each mail's Message-ID
    MAIL_FOLDER: str | None = None
    # Links in mails lead here (the address users open the app at).
    PUBLIC_URL = "http://127.0.0.1:5000"
    # A mail still refused after this long is given up (status dead, shown to admins).
    NOTIFY_GIVE_UP_HOURS = 24
    # A decided measure its service has not acknowledged after this long: one reminder.
    NOTIFY_REMINDER_HOURS = 24
    # The officers' daily digest is made from this hour on, on the centre's clock.
    DIGEST_HOUR = 7
    # The duty mailbox gets the digest of the dossiers no officer leads; "": none.
    DUTY_MAILBOX = ""
    # An invitation or password-reset link is good once, for this long.
    ACCOUNT_LINK_HOURS = 72
    # A reset link opens an account that already holds data: good for a short while.
    PASSWORD_RESET_HOURS = 2
    # Retention (dossiers/retention.py): the years a closed dossier's personal data is
    # kept, from its closing date (threatened persons), or from the later of its event's
    # end and its closing date (VIP protection). An open dossier's is kept.
    RETENTION_TP_YEARS = 10
    RETENTION_VIP_YEARS = 2
    TESTING = False
    DEBUG = False

    def __init__(self) -> None:
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or default_database_url()
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or self.SECRET_KEY
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", self.LOGIN_RATE_LIMIT)
        for name in (
            "MAIL_BACKEND",
            "MAIL_HOST",
            "MAIL_SECURITY",
            "MAIL_USER",
            "MAIL_PASSWORD",
            "MAIL_SENDER",
            "MAIL_ID_DOMAIN",
            "MAIL_FOLDER",
            "PUBLIC_URL",
            "DUTY_MAILBOX",
        ):
            setattr(self, name, os.environ.get(name, getattr(self, name)))
        self.MAIL_PORT = int(os.environ.get("MAIL_PORT", self.MAIL_PORT))
        for name in (
            "NOTIFY_GIVE_UP_HOURS",
            "NOTIFY_REMINDER_HOURS",
            "DIGEST_HOUR",
            "ACCOUNT_LINK_HOURS",
            "PASSWORD_RESET_HOURS",
        ):
            setattr(self, name, int(os.environ.get(name, getattr(self, name))))
        # As typed: create_app refuses a value that is not at least one whole year
        # (retention.check_settings), naming it.
        for name in ("RETENTION_TP_YEARS", "RETENTION_VIP_YEARS"):
            setattr(self, name, os.environ.get(name, getattr(self, name)))
        # The audit chain's HMAC key; set AUDIT_KEY apart from SECRET_KEY in production
        # so that rotating the session key does not touch the audit trail.
        self.AUDIT_KEY = os.environ.get("AUDIT_KEY") or (
            hmac.new((self.SECRET_KEY or "").encode(), b"audit-chain", "sha256").hexdigest()
        )
        # Fernet keys for the TOTP secrets at rest, the current one first (sealing.py);
        # set TOTP_KEYS apart from SECRET_KEY in production, like AUDIT_KEY.
        self.TOTP_KEYS = (
            os.environ.get("TOTP_KEYS")
            or base64.urlsafe_b64encode(
                hmac.new((self.SECRET_KEY or "").encode(), b"totp-secrets", "sha256").digest()
            ).decode()
        )
        self.PROXY_HOPS = int(os.environ.get("PROXY_HOPS", self.PROXY_HOPS))
        self.FIRST_YEAR = int(os.environ.get("FIRST_YEAR", self.FIRST_YEAR))
        self.STATIC_BUILD_FOLDER = os.environ.get("STATIC_BUILD_FOLDER") or None
        trusted = os.environ.get("TRUSTED_PROXIES")
        if trusted is not None:
            self.TRUSTED_PROXIES = tuple(a.strip() for a in trusted.split(",") if a.strip())


class DevelopmentConfig(Config):
    # A fixed key only for a developer's own machine; production demands its own.
    SECRET_KEY = "development-only-not-secret"  # nosec B105
    MAIL_BACKEND = "file"  # instance/mail: `make run` shows every mail without a server
    DUTY_MAILBOX = "duty@crisis-centre.example"


class TestingConfig(Config):
    TESTING = True
    LOGIN_SLOWDOWN_SECONDS = 0.01
    RESET_ANSWER_SECONDS = 0.05
    SECRET_KEY = "testing-only-not-secret"  # nosec B105
    WTF_CSRF_ENABLED = True


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True

    def __init__(self) -> None:
        super().__init__()
        if not os.environ.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in the environment in production")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None = None) -> Config:
    name = name or os.environ.get("DOSSIERS_CONFIG") or "development"
    if name not in CONFIGS:
        raise RuntimeError(f"DOSSIERS_CONFIG must be one of {', '.join(CONFIGS)}, not {name!r}")
    config = CONFIGS[name]()
    config.CONFIG_NAME = name  # type: ignore[attr-defined]
    return config
