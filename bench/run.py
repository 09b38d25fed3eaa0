"""Measure every main page at F=1 and F=100 on one database, under gunicorn, with hey.

For each factor: a database of its own, migrated and filled by `flask seed-scale`,
signed-in users, gunicorn (production configuration, 2 workers) on 127.0.0.1, then a
bounded `hey` run per page (the bare /healthz among them, in the same run), the yearly
report's SQL timed on its own, and the peak memory of exports of the rows behind a
figure. Writes one JSON file; bench/table.py prints the table from it.

Run through `make bench`, which runs it on SQLite and on a throwaway PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load import PASSWORD, Client, flask, start_server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HEY_LINE = {
    "rps": re.compile(r"Requests/sec:\s+([\d.]+)"),
    "p50": re.compile(r"50% in ([\d.]+) secs"),
    "p95": re.compile(r"95% in ([1-9][\d.]*|0\.\d*[1-9]\d*) secs"),
}


def database_for(kind: str, factor: int, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / f'bench-f{factor}.db'}"
    from sqlalchemy import create_engine, make_url, text

    main = make_url(os.environ["TEST_DATABASE_URL"])  # set by scripts/with-postgres
    name = f"bench_f{factor}"
    admin = create_engine(main, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return main.set(database=name).render_as_string(hide_password=False)


def prepare(url: str, factor: int, years: int, last_year: int) -> dict:
    env = dict(
        os.environ,
        DATABASE_URL=url,
        DOSSIERS_CONFIG="production",
        SECRET_KEY="bench-" + "k" * 40,
        RATELIMIT_STORAGE_URI="memory://",
    )
    dev = dict(env, DOSSIERS_CONFIG="development")
    started = time.perf_counter()
    flask("db", "upgrade", env=dev)
    flask(
        "seed-scale",
        "--factor",
        str(factor),
        "--years",
        str(years),
        "--last-year",
        str(last_year),
        env=dev,
    )
    seeded = time.perf_counter() - started
    secrets = {}
    for role, extra in (
        ("officer", ["--totp"]),
        ("admin", ["--totp"]),
        ("analyst", []),
        ("partner", ["--organisation", "Federal Police DAP"]),
    ):
        out = flask(
            "create-user",
            f"{role}@bench.example",
            "--role",
            role,
            *extra,
            env=env,
            input_=PASSWORD + "\n",
        )
        secrets[role] = out.strip().splitlines()[-1].split(": ")[1] if extra == ["--totp"] else None
    return {"env": env, "secrets": secrets, "seed_seconds": seeded}


def facts(url: str, last_year: int) -> dict:
    """Which dossier, person and deep position to ask for: the same at every factor."""
    from sqlalchemy import create_engine, text

    from dossiers.keyset import encode

    engine = create_engine(url)
    with engine.connect() as connection:
        reference = connection.scalar(
            text("SELECT reference FROM dossier WHERE reference LIKE :p ORDER BY reference"),
            {"p": f"TP-{last_year}-%"},
        )
        # The newest threatened person in a dossier: a full name, as an officer types it.
        name = connection.scalar(
            text(
                "SELECT name FROM person WHERE function = 'Mayor' AND id IN "
                "(SELECT person_id FROM dossier_person) ORDER BY id DESC LIMIT 1"
            )
        )
        total = connection.scalar(text("SELECT count(*) FROM dossier"))
        deep = connection.execute(
            text(
                "SELECT opened_on, id FROM dossier ORDER BY opened_on DESC, id DESC "
                "LIMIT 1 OFFSET :deep"
            ),
            {"deep": min(1000, total * 3 // 4)},  # forty pages in, where there are forty
        ).one()
    engine.dispose()
    opened_on = deep[0] if isinstance(deep[0], dt.date) else dt.date.fromisoformat(str(deep[0]))
    return {"reference": reference, "name": name, "deep": encode([opened_on, deep[1]])}


def hey(port: int, path: str, cookie: str, seconds: float, concurrency: int) -> dict:
    command = ["hey", "-z", f"{seconds}s", "-c", str(concurrency), "-disable-redirects"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    found = {k: p.search(output) for k, p in HEY_LINE.items()}
    if not (found["rps"] and found["p50"]):
        raise SystemExit(f"hey gave no figures for {path}:\n{output}")
    # Too few answers for a 95th percentile: hey prints none; the slowest stands in.
    slowest = re.search(r"Slowest:\s+([\d.]+) secs", output)
    result = {k: float(m.group(1)) for k, m in found.items() if m}
    result.setdefault("p95", float(slowest.group(1)) if slowest else result["p50"])
    codes = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", output))
    result["status"] = {k: int(v) for k, v in codes.items()}
    return result


def warm(port: int, path: str, cookie: str, concurrency: int) -> None:
    command = ["hey", "-n", str(concurrency * 4), "-c", str(concurrency), "-t", "120"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    subprocess.run(
        [*command, "-disable-redirects", f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        check=True,
    )


def report_sql_ratio(env: dict, year: int, runs: int = 5) -> dict:
    """The report built in-process against the time of its own SQL, run directly."""
    code = f"""
import datetime, json, statistics, time
from sqlalchemy import event
from dossiers import create_app, report
from dossiers.extensions import db
app = create_app()
captured = []
with app.app_context():
    day = report.default_open_day({year}, datetime.date.today())
    report.build({year}, day)  # warm
    def keep(conn, cursor, statement, parameters, context, many):
        captured.append((statement, parameters))
    event.listen(db.engine, "before_cursor_execute", keep)
    build = []
    for _ in range({runs}):
        captured.clear()
        began = time.perf_counter()
        report.build({year}, day)
        build.append(time.perf_counter() - began)
        db.session.rollback()
    event.remove(db.engine, "before_cursor_execute", keep)
    statements = list(captured)
    sql = []
    raw = db.engine.raw_connection()
    for _ in range({runs}):
        began = time.perf_counter()
        cursor = raw.cursor()
        for statement, parameters in statements:
            cursor.execute(statement, parameters)
            cursor.fetchall()
        cursor.close()
        sql.append(time.perf_counter() - began)
    raw.rollback(); raw.close()
print(json.dumps({{"build": statistics.median(build), "sql": statistics.median(sql),
                  "statements": len(statements)}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def export_memory(env: dict, path: str) -> dict:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "export_memory.py"), path],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"export of {path} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(kind: str, factor: int, args, folder: Path) -> dict:
    url = database_for(kind, factor, folder)
    ready = prepare(url, factor, args.years, args.last_year)
    env, secrets = ready["env"], ready["secrets"]
    where = facts(url, args.last_year)
    year = args.last_year
    server, port = start_server(env)
    try:
        clients = {}
        for role in ("officer", "admin", "analyst", "partner"):
            client = Client(port)
            client.sign_in(f"{role}@bench.example", secrets[role])
            clients[role] = client.cookie
        pages = [
            ("bare endpoint /healthz", "", "/healthz"),
            ("dossier list", "officer", "/dossiers/"),
            ("dossier list, deep page", "officer", f"/dossiers/?after={where['deep']}"),
            ("dossier list, by name", "officer", f"/dossiers/?q={where['name'].replace(' ', '+')}"),
            ("dossier list, by reference", "officer", f"/dossiers/?q={where['reference']}"),
            ("dossier page", "officer", f"/dossiers/{where['reference']}"),
            ("partner's measures", "partner", "/measures/"),
            ("dashboard", "officer", "/dashboard/"),
            ("yearly report", "analyst", f"/statistics/{year}"),
            (
                "drill-down (attendances)",
                "analyst",
                f"/statistics/{year}/figures/protected_attendances",
            ),
            ("audit log", "admin", "/admin/audit"),
        ]
        results = {}
        for name, role, path in pages:
            # Warm-up, not measured: every worker imports its templates and computes what
            # it remembers (a year's figures take seconds at F=100) before the clock runs.
            warm(port, path, clients.get(role, ""), args.concurrency)
            results[name] = hey(port, path, clients.get(role, ""), args.seconds, args.concurrency)
            results[name]["path"] = path
            if set(results[name]["status"]) != {"200"}:
                raise SystemExit(f"{path} answered {results[name]['status']}, not only 200")
            print(f"  {kind} F={factor} {name}: {results[name]['rps']:.0f} req/s", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    drill = f"/statistics/{year}/figures/protected_attendances/rows"
    memory = {fmt: export_memory(env, f"{drill}.{fmt}") for fmt in ("csv", "xlsx")}
    return {
        "database": kind,
        "factor": factor,
        "years": args.years,
        "seed_seconds": ready["seed_seconds"],
        "pages": results,
        "report_sql": report_sql_ratio(env, year),
        "export_memory": memory,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--last-year", type=int, default=dt.date.today().year - 1)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for factor in args.factors:
            print(f"{args.database} F={factor}: seeding {args.years} years…", flush=True)
            runs.append(measure(args.database, factor, args, Path(folder)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
