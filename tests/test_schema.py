"""The Alembic migrations build exactly the schema the models describe, and undo it."""

import datetime as dt

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from dossiers.extensions import db
from dossiers.sealing import unseal


def test_migrations_match_the_models_and_downgrade_to_empty(app):
    with app.app_context():
        db.drop_all()
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "render_as_batch": True},
            )
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        downgrade(revision="base")
        remaining = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        upgrade()  # and up again, for the fixture's teardown


def test_the_upgrade_encrypts_the_secrets_it_finds_in_clear_and_the_downgrade_undoes_it(app):
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    with app.app_context():
        db.drop_all()
        upgrade(revision="0013")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO user_account (email, full_name, password_hash, role, active, "
                    "created_at, totp_secret, totp_last_step, recovery_codes) VALUES "
                    "('old@test.example', 'Old', 'x', 'officer', :yes, :now, :secret, 0, '[]')"
                ),
                {"yes": True, "now": dt.datetime(2026, 1, 1), "secret": secret},
            )
        upgrade()
        raw = _raw_secret()
        assert secret not in raw and unseal(raw) == secret
        downgrade(revision="0013")
        assert _raw_secret() == secret
        upgrade()


def _raw_secret() -> str:
    with db.engine.connect() as connection:
        return connection.execute(
            text("SELECT totp_secret FROM user_account WHERE email = 'old@test.example'")
        ).scalar_one()


def test_the_upgrade_marks_the_persons_a_retention_run_already_pseudonymised(app):
    with app.app_context():
        db.drop_all()
        upgrade(revision="0026")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO person (id, version, name, function, created_at) VALUES "
                    "(5, 2, 'Person 5', '', :now), (6, 1, 'Person 7', '', :now), "
                    "(7, 1, 'Jan Peeters', 'Mayor', :now)"
                ),
                {"now": dt.datetime(2026, 1, 1)},
            )
        upgrade()
        with db.engine.connect() as connection:
            marked = connection.execute(
                text("SELECT id FROM person WHERE pseudonymised_at IS NOT NULL")
            ).scalars()
            assert list(marked) == [5]
        downgrade(revision="0026")
        upgrade()
