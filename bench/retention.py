"""A retention run over ten years of data at F=100: its time and peak memory.

`bash scripts/with-postgres .venv/bin/python bench/retention.py [--factor 100]` (or
`make bench-retention`): for SQLite and PostgreSQL, a database of its own filled by
`flask seed-scale`, then `flask retention run` with short rules (threatened persons 1
year after closing, VIP protection 1 year after the event) so that most of the ten years
is due, timed in a process of its own whose peak resident memory is read from the
kernel (getrusage in that process). A second run shows the idempotent pass.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.run import database_for  # noqa: E402

# Runs the flask command line in this child process, then writes the child's own peak
# resident memory (KiB) to stderr, whatever the command's exit.
MEASURED = """
import resource, sys
from flask.cli import main
sys.argv = ["flask", "--app", "dossiers", *sys.argv[1:]]
try:
    main()
finally:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def flask(*args: str, env: dict) -> tuple[str, float, int]:
    """Run a flask command; its output, seconds and peak resident memory (KiB)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", MEASURED, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    peak = int(result.stderr.strip().splitlines()[-1])
    return result.stdout, seconds, peak


def counts(url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = {
            "dossiers": connection.execute(text("SELECT count(*) FROM dossier")).scalar(),
            "persons": connection.execute(text("SELECT count(*) FROM person")).scalar(),
            "purged": connection.execute(
                text("SELECT count(*) FROM dossier WHERE purged_at IS NOT NULL")
            ).scalar(),
        }
    engine.dispose()
    return found


def measure(kind: str, factor: int, years: int, folder: Path) -> None:
    url = database_for(kind, factor, folder)
    env = dict(
        os.environ,
        DATABASE_URL=url,
        DOSSIERS_CONFIG="development",
        RETENTION_TP_YEARS="1",
        RETENTION_VIP_YEARS="1",
    )
    last_year = dt.date.today().year - 1
    flask("db", "upgrade", env=env)
    _, seed_seconds, _ = flask(
        "seed-scale", "--factor", str(factor), "--years", str(years), "--last-year",
        str(last_year), env=env,
    )  # fmt: skip
    before = counts(url)
    out, seconds, peak = flask("retention", "run", env=env)
    after = counts(url)
    again, seconds_again, _ = flask("retention", "run", env=env)
    print(f"### {kind}, F={factor}, {years} years (seeded in {seed_seconds:.0f} s)")
    print(f"before: {before}")
    print(f"retention run: {seconds:.1f} s, peak RSS {peak / 1024:.0f} MiB")
    print(out.strip().splitlines()[-1] if out.strip() else "(no output)")
    print(f"after: {after}")
    print(f"second run: {seconds_again:.1f} s: {again.strip().splitlines()[-1]}")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--factor", type=int, default=100)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--kinds", default="sqlite,postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-retention-") as folder:
        for kind in args.kinds.split(","):
            measure(kind, args.factor, args.years, Path(folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
