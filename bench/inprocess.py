"""Each main page's time inside the process (no HTTP, no server): the test client on
the demo data set, a median of many runs. Quick enough to compare two versions of the
code side by side while working; `make bench` remains the measure of record.

    .venv/bin/python bench/inprocess.py [--runs 200]
    bash scripts/with-postgres .venv/bin/python bench/inprocess.py   # on PostgreSQL
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from dossiers import create_app  # noqa: E402
from dossiers.extensions import db  # noqa: E402


def signed_in(app, email: str):
    from dossiers.auth import start_session
    from dossiers.models import User

    client = app.test_client()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        token = start_session(user)
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    return client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    app = create_app({"CONFIG_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from sqlalchemy import func

        from dossiers import clock
        from dossiers.models import Dossier, DossierPerson, Event

        busiest = db.session.scalar(
            select(Dossier.reference)
            .join(DossierPerson, DossierPerson.dossier_id == Dossier.id)
            .where(Dossier.kind == "threatened_person")
            .group_by(Dossier.id)
            .order_by(func.count().desc(), Dossier.id)
            .limit(1)
        )
        summit = db.session.scalar(select(Event.id).where(Event.start_date > clock.today()))
    officer = signed_in(app, "officer@demo.example")
    partner = signed_in(app, "partner@demo.example")
    admin = signed_in(app, "admin@demo.example")
    pages = [
        ("healthz", officer, "/healthz"),
        ("dashboard", officer, "/dashboard/"),
        ("dossier list", officer, "/dossiers/"),
        ("dossier page", officer, f"/dossiers/{busiest}"),
        ("partner's measures", partner, "/measures/"),
        ("events list", officer, "/events/"),
        ("event page", officer, f"/events/{summit}"),
        ("partner's events", partner, "/measures/events/"),
        ("partner's event group", partner, f"/measures/events/{summit}"),
        ("yearly report", officer, "/statistics/2023"),
        ("drill-down", officer, "/statistics/2023/figures/protected_attendances"),
        ("audit log", admin, "/admin/audit"),
    ]
    print(f"{'page':<22} {'median ms':>10} {'p10 ms':>8}")
    for name, client, url in pages:
        for _ in range(20):  # warm-up
            assert client.get(url).status_code == 200, url
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        print(f"{name:<22} {statistics.median(times):>10.2f} {times[len(times) // 10]:>8.2f}")


if __name__ == "__main__":
    main()
