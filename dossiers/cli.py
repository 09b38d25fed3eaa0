"""Command-line tools: create-user, seed-demo, stats."""

from __future__ import annotations

import json
import os
import sys
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from . import audit, clock, figures, keyset, project, sealing
from .accounts import create_user, issue_enrolment_code, reset_second_factor
from .auth import must_enrol, new_totp_secret, normalise_email
from .clock import now_utc
from .extensions import db
from .logs import log
from .models import AuditEvent, Organisation, Role, User
from .refusals import Refused


def register(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(issue_enrolment_code_command)
    app.cli.add_command(rotate_totp_keys_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(stats_command)
    app.cli.add_command(export_rows_command)
    app.cli.add_command(audit_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(seed_scale_command)
    app.cli.add_command(notify_command)
    app.cli.add_command(retention_group)


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--organisation",
    "organisation_name",
    default=None,
    help="The partner organisation's exact name.",
)
@click.option("--name", "full_name", default="", help="The person's full name.")
@click.option("--totp", is_flag=True, help="Set up two-factor sign-in; print its secret last.")
def create_user_command(
    email: str, role: str, organisation_name: str | None, full_name: str, totp: bool
) -> None:
    """Create a user account; the password is read from standard input."""
    organisation_id = None
    if organisation_name:
        organisation_id = db.session.scalar(
            select(Organisation.id).where(Organisation.name == organisation_name)
        )
        if organisation_id is None:
            raise click.ClickException(f"There is no organisation named {organisation_name!r}.")
    password = _read_password()
    try:
        user = create_user(
            email=email,
            full_name=full_name,
            role=Role(role),
            password=password,
            organisation_id=organisation_id,
            actor=None,
        )
    except Refused as refusal:
        db.session.rollback()
        raise click.ClickException(str(refusal)) from None
    secret = code = None
    if totp:
        secret = new_totp_secret(user)
        user.totp_confirmed_at = now_utc()
    elif must_enrol(user):
        code = issue_enrolment_code(user, None)
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role.value}).")
    if secret:
        click.echo(f"TOTP secret: {secret}")
    if code:
        click.echo(f"Enrolment code (asked at the first sign-in, works once): {code}")


@click.command("issue-enrolment-code")
@with_appcontext
@click.argument("email")
@click.option("--reset", is_flag=True, help="Forget the account's authenticator first.")
def issue_enrolment_code_command(email: str, reset: bool) -> None:
    """Print a new one-time enrolment code for an account that must set up its second
    factor: the last code expired, or (with --reset) the only administrator lost the
    phone."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise click.ClickException(f"There is no account {email!r}.")
    try:
        code = reset_second_factor(user, None) if reset else issue_enrolment_code(user, None)
    except Refused as refusal:
        db.session.rollback()
        raise click.ClickException(str(refusal)) from None
    db.session.commit()
    if code is None:
        click.echo(f"Second factor of {user.email} reset; its role does not need one.")
        return
    click.echo(f"Enrolment code for {user.email} (works once): {code}")


@click.command("rotate-totp-keys")
@with_appcontext
def rotate_totp_keys_command() -> None:
    """Encrypt every stored secret (TOTP secrets, waiting account links) again with the
    first key of TOTP_KEYS."""
    rotated = sealing.rotate()
    audit.record(
        "user.totp_keys_rotated", actor=None, object_type="user", object_id=None, count=rotated
    )
    db.session.commit()
    click.echo(f"{rotated} secrets encrypted with the first key of TOTP_KEYS.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load the deterministic demo data set (2022–2024) and one account per role."""
    from .demo import PLANS, AlreadySeeded, seed

    if current_app.config.get("CONFIG_NAME") == "production":
        raise click.ClickException("seed-demo refuses to run under the production configuration.")
    try:
        with click.progressbar(
            length=len(PLANS) * 2, label="Seeding the demo data set", file=sys.stderr
        ) as bar:
            passwords, codes = seed(lambda step: bar.update(1))
    except AlreadySeeded:
        db.session.rollback()
        click.echo("The demo data set is already there; nothing changed.")
        return
    db.session.commit()
    click.echo("Demo accounts (the passwords are shown this once):")
    for email, password in passwords.items():
        click.echo(f"  {email:<24} {password}")
    click.echo("Enrolment codes, asked once at the first sign-in of these accounts:")
    for email, code in codes.items():
        click.echo(f"  {email:<24} enrolment code {code}")


@click.command("stats")
@with_appcontext
@click.argument("year", type=int)
@click.option("--format", "output", type=click.Choice(["json", "csv"]), default="json")
def stats_command(year: int, output: str) -> None:
    """Print the yearly figures."""
    published = figures.headline(year)
    if output == "json":
        click.echo(json.dumps(published, indent=2))
        return
    from . import exports

    lines = [["year", "section", "figure", "value"]] + [
        [year, section, name, value]
        for section in ("threatened_persons", "vip_protection")
        for name, value in published[section].items()
    ]
    click.echo("".join(exports.csv_stream(lines)), nl=False)


@click.command("export-rows")
@with_appcontext
@click.argument("year", type=int)
@click.argument("figure")
@click.argument("destination", type=click.Path(dir_okay=False, writable=True))
@click.option("--group", default=None, help="One group of a breakdown.")
@click.option("--names", is_flag=True, help="Include names (officers' exports only).")
def export_rows_command(
    year: int, figure: str, destination: str, group: str | None, names: bool
) -> None:
    """Write the rows behind a figure to DESTINATION (.csv or .xlsx), streamed."""
    from . import exports, report

    chosen = figures.FIGURES.get(figure)
    if chosen is None:
        keys = ", ".join(sorted(figures.FIGURES))
        raise click.ClickException(f"No figure {figure!r}; one of: {keys}.")
    wanted = chosen.group_of(group)
    if chosen.grouped and wanted is None:
        raise click.ClickException(f"{figure} is a breakdown: give --group.")
    population = chosen.rows(year, wanted)
    total, _ = keyset.count(population, None)
    unit = chosen.unit
    audit.record(
        "statistics.export",
        actor=None,
        object_type="figure",
        object_id=None,
        figure=figure,
        year=year,
        group=wanted,
        names=names,
        rows=total,
        form="cli",
    )
    db.session.commit()
    with click.progressbar(length=total, label="Rows written", file=sys.stderr) as bar:

        def counted(rows):
            for row in rows:
                bar.update(1)
                yield row

        lines = exports.drill_lines(counted(report.stream(population, unit, names)), unit, names)
        if destination.endswith(".xlsx"):
            with exports.xlsx_file(lines, title=str(chosen.label)) as made:
                with open(destination, "wb") as out:
                    for chunk in exports.file_chunks(made):
                        out.write(chunk)
        else:
            with open(destination, "w", newline="", encoding="utf-8") as sheet:
                for text in exports.csv_stream(lines):
                    sheet.write(text)
    click.echo(f"{total} rows written to {destination}.")


@click.command("notify")
@with_appcontext
@click.option("--loop", is_flag=True, help="Keep sending, for a service manager.")
@click.option("--interval", default=30, show_default=True, help="Seconds between rounds.")
def notify_command(loop: bool, interval: int) -> None:
    """Make the reminders and daily digests that are due, then send the mails that are
    due (the outbox), once or in a loop."""
    from . import notifications, scheduled

    while True:
        try:
            made = scheduled.schedule()
            sent, failed = notifications.send_due()
        except Exception:
            if not loop:
                raise
            # The database away for a moment: the next round tries again.
            db.session.rollback()
            log.exception("mail round failed")
        else:
            if made.reminders or made.digests or not loop:
                click.echo(f"Reminders made: {made.reminders}; daily digests made: {made.digests}.")
            if sent or failed or not loop:
                click.echo(f"Mails sent: {sent}; failed, to retry: {failed}.")
        if not loop:
            return
        time.sleep(interval)


retention_group = AppGroup("retention", help="Personal data past its retention period.")


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="List what is due; change nothing.")
def retention_run_command(dry_run: bool) -> None:
    """List the dossiers whose personal data is due to go, then remove it, a batch per
    transaction: free text and documents go, persons no other dossier needs are
    pseudonymised, the figures stay. Safe to run again and on a schedule."""
    from . import retention

    on = clock.today()
    for line in retention.listing(on):
        click.echo(line)
    if dry_run:
        click.echo("Dry run: nothing was changed.")
        return
    due = sum(n for (_, held), n in retention.due_counts(on).items() if not held)
    kept = None
    try:
        with click.progressbar(length=due, label="Dossiers purged", file=sys.stderr) as bar:
            done = retention.run(on, progress=bar.update)
    except retention.AnotherRun:
        click.echo("Another retention run is going: this one changed nothing.", err=True)
        sys.exit(75)  # EX_TEMPFAIL: try again later
    except retention.OldPagesKept as error:
        done, kept = error.counts, error
    counts = (
        f"dossiers purged: {done.dossiers}; persons pseudonymised: {done.persons}; "
        f"documents deleted: {done.documents}; texts cleared: {done.texts}."
    )
    click.echo(f"Done: {counts}" if done else f"Nothing was due; nothing changed: {counts}")
    if kept is not None:
        click.echo(
            "WARNING: SQLite's write-ahead log could not be emptied (a reader or a writer "
            "held it): it still holds old pages with some of what was removed. Run "
            "`flask retention run` again when the application is quiet.",
            err=True,
        )
        sys.exit(1)


audit_group = AppGroup("audit", help="The audit trail.")


@audit_group.command("verify")
def audit_verify_command() -> None:
    """Walk the audit chain; name the first event that was altered, removed or moved."""
    total = db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    with click.progressbar(length=total, label="Events checked", file=sys.stderr) as bar:
        verdict = audit.verify(progress=bar.update)
    if verdict.intact:
        click.echo(f"Audit trail intact: {verdict.events} events.")
        return
    click.echo(f"Audit trail BROKEN at event #{verdict.broken_at}: {verdict.reason}.", err=True)
    sys.exit(1)


@click.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(destination: str) -> None:
    """Write a consistent copy of the database: SQLite's online backup, or pg_dump."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        import sqlite3

        with db.engine.connect() as connection:
            source = connection.connection.dbapi_connection
            target = sqlite3.connect(destination)
            try:
                source.backup(target)  # type: ignore[union-attr]
            finally:
                target.close()
    elif url.get_backend_name() == "postgresql":
        import shutil

        # bandit B404/B603: pg_dump runs without a shell, its arguments from our own URL.
        import subprocess  # nosec B404

        pg_dump = shutil.which("pg_dump") or _postgres_binary("pg_dump")
        env = dict(os.environ, PGPASSWORD=url.password or "")
        subprocess.run(  # nosec B603
            [
                pg_dump,
                "--format=custom",
                "--no-owner",
                f"--file={destination}",
                f"--host={url.host or 'localhost'}",
                f"--port={url.port or 5432}",
                f"--username={url.username or ''}",
                url.database or "",
            ],
            env=env,
            check=True,
        )
    else:
        raise click.ClickException(f"No backup method for {url.get_backend_name()}.")
    click.echo(f"Backup written to {destination}.")


def _postgres_binary(name: str) -> str:
    import glob

    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise click.ClickException(f"{name} is not installed.")
    return found[-1]


@click.command("seed-scale")
@click.option(
    "--factor", type=float, default=1.0, show_default=True, help="Times the demo's yearly volume."
)
@click.option("--years", type=click.IntRange(1, 30), default=10, show_default=True)
@click.option("--last-year", type=int, default=None, help="Default: last year.")
@with_appcontext
def seed_scale_command(factor: float, years: int, last_year: int | None) -> None:
    """Write a large data set for benchmarks into a database without dossiers."""
    if current_app.config.get("CONFIG_NAME") == "production":
        raise click.ClickException("seed-scale refuses to run under the production configuration.")
    # The generator is benchmark code: it lives in bench/, beside the package.
    scale = project.module("bench_scale", "bench/scale.py")
    if not 0 < factor <= 1000:
        raise click.ClickException("--factor must be above 0 and at most 1000.")
    last_year = last_year or clock.today().year - 1
    with click.progressbar(length=years, label="Years written") as bar:
        try:
            made = scale.seed_scale(factor, years, last_year, bar.update)
        except scale.NotEmpty:
            db.session.rollback()
            raise click.ClickException(
                "The database already has dossiers; use an empty one."
            ) from None
    click.echo(f"Wrote {made['dossiers']} threatened-person dossiers and {made['events']} events.")
