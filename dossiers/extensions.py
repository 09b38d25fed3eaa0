"""Extension instances, unbound; create_app() binds them."""

import sqlite3

from flask_babel import Babel
from flask_compress import Compress
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
        # Deleted and overwritten content is zeroed in the file, not left in free space:
        # a name a retention run removed must not stay readable in the database file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()


migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
compress = Compress()


babel = Babel()
