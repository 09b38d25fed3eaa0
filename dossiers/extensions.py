"""Extension instances, unbound; create_app() binds them."""

import sqlite3
from functools import cached_property

from flask import g, has_app_context
from flask_babel import Babel, Domain, get_translations
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


@event.listens_for(Engine, "connect")
def _sqlite_write_ahead_log(connection, _record) -> None:
    """On SQLite, write-ahead logging: readers no longer wait for a writer, and a commit
    appends to one log file (still synced to disk) instead of journalling page copies.
    Every dossier read writes an audit event, so commits are on the hot path."""
    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # 16 MiB of page cache instead of 2: the upper levels of every index stay in
        # memory. Not more: the cache fills with whatever a connection reads (a year's
        # report at 100x), and an export's memory should not grow with the history.
        cursor.execute("PRAGMA cache_size=-16384")
        cursor.close()


migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()


class RequestDomain(Domain):
    """Flask-Babel's message domain, keeping the request's catalogue for the request.

    The stock lookup goes through the request globals three times and formats the
    locale for each of the hundred-odd messages of a page; this looks once, and again
    only when the request's locale is another (Flask-Babel's refresh() forgets it).
    """

    def get_translations(self):
        state = g.get("_flask_babel") if g else None
        kept = getattr(state, "kept_translations", None)
        if kept is not None and kept[0] is getattr(state, "babel_locale", None):
            return kept[1]
        translations = super().get_translations()
        state = g.get("_flask_babel") if g else None
        locale = getattr(state, "babel_locale", None)
        if locale is not None:
            state.kept_translations = (locale, translations)  # type: ignore[union-attr]
        return translations


class RequestBabel(Babel):
    @cached_property
    def domain_instance(self):
        return RequestDomain(domain=self.domain)

    def init_app(self, app, *args, **kwargs) -> None:
        super().init_app(app, *args, **kwargs)
        # A page says a hundred-odd things through these: each now finds the kept
        # catalogue in one lookup of the request globals instead of six.
        app.jinja_env.install_gettext_callables(
            gettext=lambda s: request_translations().ugettext(s),
            ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
            newstyle=True,
            pgettext=lambda c, s: request_translations().upgettext(c, s),
            npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        )


def request_translations():
    """The catalogue RequestDomain kept for this request, else Flask-Babel's lookup."""
    if has_app_context():
        state = getattr(g._get_current_object(), "_flask_babel", None)
        kept = getattr(state, "kept_translations", None)
        if kept is not None and kept[0] is getattr(state, "babel_locale", None):
            return kept[1]
    return get_translations()


babel = RequestBabel()
# Limits apply only where a view asks (sign-in); storage comes from the configuration.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
