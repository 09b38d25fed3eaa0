"""Dossiers: protection-measure dossiers of a national crisis centre."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import (
    Flask,
    abort,
    current_app,
    g,
    has_request_context,
    render_template,
    request,
)
from flask_babel import format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from . import clock, delivery, inputs, logs, project, sealing, security
from .extensions import babel, csrf, db, login_manager, migrate

log = logging.getLogger(__name__)


class DossiersApp(Flask):
    def log_exception(self, exc_info) -> None:  # type: ignore[no-untyped-def]
        """Log where an error happened, never its message: exception messages (SQL
        parameters above all) can quote personal data. The 500 handler logs it."""
        frames = traceback.extract_tb(exc_info[2])[-6:] if exc_info and exc_info[2] else []
        logs.log.error(
            "unhandled error",
            extra={
                "error": exc_info[0].__name__ if exc_info and exc_info[0] else "?",
                "where": [f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}" for f in frames],
                "path": request.path[:200] if has_request_context() else None,
            },
        )


def create_app(config: Any = None) -> Flask:
    """Build the application; `config` (a dict, or a configuration object) overrides the
    environment's configuration."""
    load_config = project.module("config", "config.py").load_config
    app = DossiersApp(
        __name__, template_folder=str(project.path("templates")), instance_relative_config=True
    )
    if isinstance(config, dict):
        base = load_config(config.get("CONFIG_NAME"))
        app.config.from_object(base)
        app.config.update(config)
    else:
        app.config.from_object(config or load_config())
    # Before any route is added: every <int:…> is then an id in the columns' range.
    app.url_map.converters["int"] = inputs.IdConverter
    logs.register(app)
    app.before_request(inputs.apply_body_limit)  # before CSRF reads the form
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_cli(app)
    security.register(app)
    delivery.register(app)
    return app


def register_extensions(app: Flask) -> None:
    from . import names  # noqa: F401  (its listeners keep the name-search index)

    # Babel formats on the centre's clock too (clock.py is the one place that names it).
    app.config["BABEL_DEFAULT_TIMEZONE"] = clock.ZONE_NAME
    sealing.check_keys(app.config["TOTP_KEYS"])
    from .retention import check_settings

    check_settings(app.config)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(project.path("migrations")))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    # Sessions are server-side rows (auth.py); the cookie only names one.
    login_manager.session_protection = None

    from .auth import register_rate_limit, user_for_token

    login_manager.user_loader(user_for_token)
    register_rate_limit(app)

    from flask_bootstrap import Bootstrap5

    app.config.setdefault("BOOTSTRAP_SERVE_LOCAL", True)
    Bootstrap5(app)


def _select_locale() -> str | None:
    """The user's own setting, then the choice made before signing in, then the browser."""
    if not has_request_context():
        return None  # the CLI and background work speak the default language
    languages = current_app.config["LANGUAGES"]
    # Only a user already loaded: an error page must not touch a database that is down.
    user = g.get("_login_user")
    own = getattr(user, "language", None)
    if own in languages:
        return own
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages)


LANGUAGE_COOKIE = "language"


def register_blueprints(app: Flask) -> None:
    from .views import (
        admin,
        auth,
        casework,
        dashboard,
        dossiers,
        events,
        main,
        measures,
        statistics,
    )

    for module in (main, auth, dashboard, dossiers, casework, events, measures, statistics, admin):
        app.register_blueprint(module.bp)


def register_error_handlers(app: Flask) -> None:
    from .access import enforce_policy

    @app.before_request
    def refuse_nul_bytes():
        # No field of ours holds a NUL byte, and PostgreSQL refuses them with an error.
        values = [request.path, *request.args.values(), *request.form.values()]
        if any("\x00" in value for value in values):
            abort(400)

    app.before_request(enforce_policy)

    def page(code: int, title: str, message: str):
        return render_template("errors.html", code=code, title=title, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError):
        return page(
            400,
            _l("The form has expired"),
            _l(
                "The page was open too long or was sent twice. Go back, reload "
                "the page and try again. Nothing was saved."
            ),
        )

    @app.errorhandler(400)
    def bad_request(error):
        return page(400, _l("Bad request"), _l("The request could not be understood."))

    @app.errorhandler(403)
    def forbidden(error):
        return page(403, _l("Not allowed"), _l("Your role does not give access to this page."))

    @app.errorhandler(404)
    def not_found(error):
        return page(404, _l("Not found"), _l("There is nothing here for you."))

    @app.errorhandler(413)
    def too_large(error):
        return page(
            413,
            _l("Too much sent at once"),
            _l("What was sent is larger than this page accepts. Nothing was saved."),
        )

    @app.errorhandler(429)
    def too_many_requests(error):
        return page(429, _l("Too many attempts"), _l("Wait a minute and try again."))

    @app.errorhandler(405)
    def method_not_allowed(error):
        return page(405, _l("Not allowed"), _l("This page does not accept that request."))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error):
        # The database is gone or full: say so plainly; the pool reconnects by itself
        # (pool_pre_ping) once it is back, without a restart.
        db.session.rollback()
        # Render as nobody: loading the signed-in user would ask the database again.
        g._login_user = login_manager.anonymous_user()
        full = "full" in str(getattr(error, "orig", error)).lower()
        logs.log.error("database unavailable", extra={"error": type(error).__name__, "full": full})
        if full:
            return page(
                507,
                _l("Storage full"),
                _l(
                    "The database has no room left. Nothing was saved; everything "
                    "saved before is safe. The administrators have been told."
                ),
            )
        return page(
            503,
            _l("Temporarily unavailable"),
            _l("The database is not answering. Nothing was saved. Try again in a moment."),
        )

    @app.errorhandler(StaleDataError)
    def changed_meanwhile(error):
        # Two requests changed the same row at once; the version counter let one win.
        db.session.rollback()
        return page(
            409,
            _l("Changed at the same moment"),
            _l(
                "Someone else changed this at the same moment. Nothing of yours was "
                "saved: look at it again and retry."
            ),
        )

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()  # the error itself was logged by DossiersApp.log_exception
        body = render_template(
            "errors.html",
            code=500,
            title=_l("Something went wrong"),
            message=_l("The error was logged and nothing was saved. Try again later."),
            correlation=logs.request_id(),
        )
        return body, 500


def register_template_helpers(app: Flask) -> None:
    from . import access
    from .labels import label, measure_status, measure_type_name
    from .models import DossierState

    app.context_processor(access.template_helpers)
    app.jinja_env.globals.update(
        DossierState=DossierState,
        get_locale=get_locale,
        measure_type_name=measure_type_name,
    )
    app.context_processor(lambda: {"current_language": str(get_locale() or "en")})
    app.jinja_env.filters.update(
        num=format_decimal,
        label=label,
        measure_status=measure_status,
        mtype=lambda t: measure_type_name(t.code, t.label),
        day=clock.day,
        moment=clock.moment,
    )


def register_cli(app: Flask) -> None:
    from .cli import register

    register(app)
