"""Work that runs on every request is only what every request needs."""

from __future__ import annotations


def names(functions) -> set[str]:
    return {f"{f.__module__}.{f.__qualname__}" for f in functions}


def test_every_request_runs_only_the_hooks_it_needs(app):
    """The request id and log line, the body limit (a dictionary lookup, before CSRF reads
    the body: an upload view accepts more), CSRF, the NUL-byte refusal, the policy, the
    security headers, the compression of pages, and Flask-Login's cookie check: nothing
    that only the sign-in posts need (their rate limit is checked by those views) and
    nothing that does nothing."""
    assert names(app.before_request_funcs[None]) == {
        "dossiers.logs.register.<locals>.start",
        "dossiers.inputs.apply_body_limit",
        "flask_wtf.csrf.CSRFProtect.init_app.<locals>.csrf_protect",
        "dossiers.register_error_handlers.<locals>.refuse_nul_bytes",
        "dossiers.access.enforce_policy",
    }
    assert names(app.after_request_funcs[None]) == {
        "dossiers.logs.register.<locals>.finish",
        "flask_login.login_manager.LoginManager._update_remember_cookie",
        "dossiers.security.secure_headers",
        "dossiers.delivery.compress_page",
    }
    assert dict(app.teardown_request_funcs) == {}
    assert names(app.teardown_appcontext_funcs) == {
        "flask_sqlalchemy.extension.SQLAlchemy._teardown_session"
    }
