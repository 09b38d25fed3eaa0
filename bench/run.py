"""Measure every main page at F=1 and F=100 on one database, under gunicorn, with hey.

For each factor: a database of its own, migrated and filled by `flask seed-scale`,
signed-in users, gunicorn (production configuration, 2 workers) on 127.0.0.1. Then,
page by page, bounded `hey` runs taking turns between the factors' servers (the bare
/healthz among the pages, in the same run; the round of median throughput counts),
the yearly report's SQL timed on its own, and the peak memory of exports of the rows
behind a figure. Writes one JSON file; bench/table.py prints the table from it.

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
from urllib.parse import quote_plus

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load import PASSWORD, Client, flask, start_server  # noqa: E402

from dossiers import clock  # noqa: E402

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
        summit = connection.scalar(
            text("SELECT id FROM event WHERE name = :name"), {"name": "Benchmark summit"}
        )
        # Known VIPs for half an uploaded list: a delegation list names people seen before.
        known = list(
            connection.scalars(
                text("SELECT name FROM person WHERE category IS NOT NULL ORDER BY id LIMIT 150")
            )
        )
    engine.dispose()
    opened_on = deep[0] if isinstance(deep[0], dt.date) else dt.date.fromisoformat(str(deep[0]))
    return {
        "reference": reference,
        "name": name,
        "deep": encode([opened_on, deep[1]]),
        "summit": summit,
        "known": known,
    }


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
from dossiers import create_app, figures, report
from dossiers.extensions import db
app = create_app()
captured = []
with app.app_context():
    day = figures.default_day({year})
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


def pages_for(where: dict, year: int) -> list[tuple[str, str, str]]:
    return [
        ("bare endpoint /healthz", "", "/healthz"),
        ("dossier list", "officer", "/dossiers/"),
        ("dossier list, deep page", "officer", f"/dossiers/?after={where['deep']}"),
        ("dossier list, by name", "officer", f"/dossiers/?q={quote_plus(where['name'])}"),
        ("dossier list, by reference", "officer", f"/dossiers/?q={where['reference']}"),
        ("dossier page", "officer", f"/dossiers/{where['reference']}"),
        ("partner's measures", "partner", "/measures/"),
        ("events list", "officer", "/events/"),
        ("event page (300 VIPs, 600 measures)", "officer", f"/events/{where['summit']}"),
        ("partner's events", "partner", "/measures/events/"),
        ("partner's event group (600 measures)", "partner", f"/measures/events/{where['summit']}"),
        ("dashboard", "officer", "/dashboard/"),
        ("yearly report", "analyst", f"/statistics/{year}"),
        (
            "drill-down (attendances)",
            "analyst",
            f"/statistics/{year}/figures/protected_attendances",
        ),
        ("audit log", "admin", "/admin/audit"),
    ]


def delegation_list(known: list[str], round_: int, rows: int = 300) -> str:
    """A summit's delegation list of `rows` lines: half people known from earlier events,
    half new, every category, travel days around the event."""
    categories = ("head_of_state", "head_of_government", "minister", "other")
    lines = ["name,country,function,category,arrival,departure"]
    start = clock.today() + dt.timedelta(days=21)
    for n in range(rows):
        name = known[n // 2 % len(known)] if n % 2 and known else f"Upload {round_}-{n} Delegate"
        arrival = start - dt.timedelta(days=n % 2)
        lines.append(
            f"{name},Country {n % 60},Delegate,{categories[n % 4]},"
            f"{arrival.isoformat()},{(start + dt.timedelta(days=1)).isoformat()}"
        )
    return "\n".join(lines)


def upload_times(client: Client, where: dict, rounds: int) -> dict:
    """A 300-line delegation list posted for its preview, then created, as an officer
    does it: the seconds of each step, the median round of their sum."""
    path = f"/events/{where['summit']}/delegations/new"
    runs = []
    for round_ in range(rounds):
        form = {"title": f"Upload {round_}", "listing": delegation_list(where["known"], round_)}
        client.request("GET", path)
        began = time.perf_counter()
        status, page, _ = client.request("POST", path, form)
        previewed = time.perf_counter()
        if status != 200 or "300 persons are ready." not in page:
            raise SystemExit(f"the preview answered {status} without its 300 persons ready")
        status, _, headers = client.request("POST", path, {**form, "create": "1"})
        done = time.perf_counter()
        if status != 302 or not headers.get("Location", "").endswith(f"/events/{where['summit']}"):
            raise SystemExit(f"creating the delegation answered {status}, not the event page")
        runs.append({"preview": previewed - began, "commit": done - previewed})
    ordered = sorted(runs, key=lambda r: r["preview"] + r["commit"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["rounds"] = [round(r["preview"] + r["commit"], 2) for r in runs]
    return chosen


def median_round(rounds: list[dict]) -> dict:
    """The round of median throughput, whole (its p50 and p95 with it)."""
    ordered = sorted(rounds, key=lambda r: r["rps"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["rounds"] = [round(r["rps"], 1) for r in rounds]
    return chosen


def measure(kind: str, args, folder: Path) -> list[dict]:
    """Every factor's data set and server side by side, each page measured in turns
    (F=1, F=100, F=1, …): a machine shared with others drifts in speed by tens of
    percent within minutes, and a growth ratio must compare like with like."""
    year = args.last_year
    setups = []
    for factor in args.factors:
        print(f"{kind} F={factor}: seeding {args.years} years…", flush=True)
        url = database_for(kind, factor, folder)
        ready = prepare(url, factor, args.years, args.last_year)
        setups.append({"factor": factor, "ready": ready, "where": facts(url, args.last_year)})
    servers = []
    hello_rounds: list[dict] = []
    try:
        hello, hello_port = start_server(setups[0]["ready"]["env"], app="bench.hello:app")
        servers.append(hello)
        for setup in setups:
            server, port = start_server(setup["ready"]["env"])
            servers.append(server)
            setup["port"] = port
            setup["cookies"] = {}
            setup["clients"] = {}
            for role in ("officer", "admin", "analyst", "partner"):
                client = Client(port)
                client.sign_in(f"{role}@bench.example", setup["ready"]["secrets"][role])
                setup["cookies"][role] = client.cookie
                setup["clients"][role] = client
            setup["pages"] = {}
        for index, (name, role, _) in enumerate(pages_for(setups[0]["where"], year)):
            rounds: dict[int, list[dict]] = {s["factor"]: [] for s in setups}
            for turn in range(args.rounds):
                for setup in setups:
                    path = pages_for(setup["where"], year)[index][2]
                    cookie = setup["cookies"].get(role, "")
                    if turn == 0:
                        # Warm-up, not measured: every worker imports its templates and
                        # computes what it remembers (a year's figures take seconds at
                        # F=100) before the clock runs.
                        warm(setup["port"], path, cookie, args.concurrency)
                    result = hey(setup["port"], path, cookie, args.seconds, args.concurrency)
                    if set(result["status"]) != {"200"}:
                        raise SystemExit(f"{path} answered {result['status']}, not only 200")
                    result["path"] = path
                    rounds[setup["factor"]].append(result)
                if index == 0:  # the bare /healthz: the hello-world app in the same turns
                    if turn == 0:
                        warm(hello_port, "/", "", args.concurrency)
                    hello_rounds.append(hey(hello_port, "/", "", args.seconds, args.concurrency))
            for setup in setups:
                setup["pages"][name] = median_round(rounds[setup["factor"]])
                print(
                    f"  {kind} F={setup['factor']} {name}: "
                    f"{setup['pages'][name]['rps']:.0f} req/s {setup['pages'][name]['rounds']}",
                    flush=True,
                )
        # Last, as it adds delegations to the summit the pages above showed.
        for setup in setups:
            setup["upload"] = upload_times(setup["clients"]["officer"], setup["where"], args.rounds)
            print(
                f"  {kind} F={setup['factor']} 300-line delegation upload: "
                f"{setup['upload']['preview']:.2f} s preview + "
                f"{setup['upload']['commit']:.2f} s commit {setup['upload']['rounds']}",
                flush=True,
            )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    runs = []
    drill = f"/statistics/{year}/figures/protected_attendances/rows"
    for setup in setups:
        env = setup["ready"]["env"]
        runs.append(
            {
                "database": kind,
                "factor": setup["factor"],
                "years": args.years,
                "seed_seconds": setup["ready"]["seed_seconds"],
                "pages": setup["pages"],
                "upload": setup["upload"],
                "hello": median_round(hello_rounds),
                "report_sql": report_sql_ratio(env, year),
                "export_memory": {
                    fmt: export_memory(env, f"{drill}.{fmt}") for fmt in ("csv", "xlsx")
                },
            }
        )
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--last-year", type=int, default=clock.today().year - 1)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        runs = measure(args.database, args, Path(folder))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
