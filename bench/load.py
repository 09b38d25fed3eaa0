"""A bounded load run that proves nothing is lost: mixed officer and partner traffic
against gunicorn on PostgreSQL, then every write that got a success answer is looked
for in the database. Partners also ask questions on their measures, each of which puts
a mail in the outbox in its transaction; a sender (`flask notify --loop`) runs beside
the load, and at the end every question must have its mail, sent once.

Run by `make bench-load` (which starts a throwaway PostgreSQL); loopback only; it stops
by itself after --seconds or --requests, whichever comes first.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import defaultdict
from pathlib import Path
from tempfile import TemporaryDirectory

import pyotp
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from dossiers import clock  # noqa: E402

PASSWORD = "Tilted-Lantern-Orchard-93"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Client:
    """One signed-in user: keeps its cookie (Secure or not) and its CSRF token."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""
        self.token = ""

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, dict]:
        body = (
            urllib.parse.urlencode({**form, "csrf_token": self.token}) if form is not None else None
        )
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text_ = response.read().decode("utf-8", "replace")
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        found = TOKEN.search(text_)
        if found:
            self.token = found.group(1)
        return response.status, text_, dict(response.getheaders())

    def sign_in(self, email: str, secret: str | None = None) -> None:
        self.request("GET", "/login")
        status, _, headers = self.request("POST", "/login", {"email": email, "password": PASSWORD})
        if secret:
            self.request("GET", "/login/totp")
            self.request("POST", "/login/totp", {"code": pyotp.TOTP(secret).now()})
        self.request("GET", "/dashboard/" if secret else "/measures/")


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.written: dict[str, list[str]] = defaultdict(list)

    def note(self, name: str, started: float, status: int) -> None:
        with self.lock:
            self.latency[name].append(time.perf_counter() - started)
            self.status[name][status] += 1


def officer_loop(port: int, email: str, secret: str, tally: Tally, stop: float, budget: list[int]):
    client = Client(port)
    client.sign_in(email, secret)
    while time.perf_counter() < stop and budget_left(budget):
        for name, method, path, form in (
            ("officer: dossier list", "GET", "/dossiers/", None),
            (
                "officer: open a dossier",
                "POST",
                "/dossiers/new",
                {
                    "kind": "threatened_person",
                    "title": "Load test",
                    "opened_on": clock.today().isoformat(),
                    "ground": "function",
                },
            ),
        ):
            started = time.perf_counter()
            status, body, headers = client.request(method, path, form)
            tally.note(name, started, status)
            if name.endswith("open a dossier") and status == 302:
                reference = headers.get("Location", "").rsplit("/", 1)[-1]
                tally.written["dossiers"].append(reference)
                started = time.perf_counter()
                status, _, _ = client.request("GET", f"/dossiers/{reference}")
                tally.note("officer: dossier page", started, status)
                started = time.perf_counter()
                status, _, _ = client.request(
                    "POST",
                    f"/dossiers/{reference}/persons",
                    {"name": f"Load {reference}", "function": "Mayor"},
                )
                tally.note("officer: add a person", started, status)
                if status == 302:
                    tally.written["persons"].append(f"Load {reference}")


def partner_loop(port: int, email: str, tally: Tally, stop: float, budget: list[int]):
    client = Client(port)
    client.sign_in(email)
    while time.perf_counter() < stop and budget_left(budget):
        started = time.perf_counter()
        status, body, _ = client.request("GET", "/measures/")
        tally.note("partner: measures list", started, status)
        for measure_id in re.findall(r'href="/measures/(\d+)"', body)[:3]:
            started = time.perf_counter()
            status, page, _ = client.request("GET", f"/measures/{measure_id}")
            tally.note("partner: a measure", started, status)
            if 'name="reason"' in page and budget_left(budget):
                question = f"Load question {uuid.uuid4().hex}"
                started = time.perf_counter()
                status, _, _ = client.request(
                    "POST",
                    f"/measures/{measure_id}/message",
                    {"kind": "question", "reason": question},
                )
                tally.note("partner: ask a question", started, status)
                if status == 302:
                    tally.written["questions"].append(question)
            if 'value="acknowledged"' in page:
                started = time.perf_counter()
                status, _, _ = client.request(
                    "POST",
                    f"/measures/{measure_id}",
                    {
                        "status": "acknowledged",
                        "version": re.search(r'name="version"[^>]*value="(\d+)"', page).group(1),
                        "seen": re.search(r'name="seen"[^>]*value="(\d+)"', page).group(1),
                    },
                )
                tally.note("partner: acknowledge", started, status)
                if status == 302:
                    tally.written["acknowledgements"].append(measure_id)


def budget_left(budget: list[int]) -> bool:
    with BUDGET_LOCK:
        budget[0] -= 1
        return budget[0] >= 0


BUDGET_LOCK = threading.Lock()


def flask(*args: str, env: dict, input_: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "dossiers", *args],
        cwd=ROOT,
        env=env,
        input=input_,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(env: dict, app: str = "dossiers:create_app()") -> tuple[subprocess.Popen, int]:
    """gunicorn with the app's own settings on a free port; `app` may name another app
    (bench/hello.py's, as "bench.hello:app")."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "--access-logfile",
            "/dev/null",
            app,
        ],
        cwd=ROOT,
        env=dict(env, BIND=f"127.0.0.1:{port}", WORKERS="2", LOGIN_RATE_LIMIT="1000 per minute"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server, port
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--requests", type=int, default=4000, help="loop iterations at most")
    parser.add_argument("--officers", type=int, default=4)
    parser.add_argument("--partners", type=int, default=4)
    args = parser.parse_args()
    url = os.environ["TEST_DATABASE_URL"]  # set by scripts/with-postgres
    env = dict(
        os.environ,
        DATABASE_URL=url,
        DOSSIERS_CONFIG="production",
        SECRET_KEY="bench-" + "k" * 40,
        RATELIMIT_STORAGE_URI="memory://",
    )
    flask("db", "upgrade", env=dict(env, DOSSIERS_CONFIG="development"))
    flask("seed-demo", env=dict(env, DOSSIERS_CONFIG="development"))
    secrets = []
    for n in range(args.officers):
        out = flask(
            "create-user",
            f"officer{n}@bench.example",
            "--role",
            "officer",
            "--totp",
            env=env,
            input_=PASSWORD + "\n",
        )
        secrets.append(out.strip().splitlines()[-1].split(": ")[1])
    partners = []
    for n in range(args.partners):
        organisation = "Police zone Brussels-Capital-Ixelles" if n % 2 else "Federal Police DAP"
        flask(
            "create-user",
            f"partner{n}@bench.example",
            "--role",
            "partner",
            "--organisation",
            organisation,
            env=env,
            input_=PASSWORD + "\n",
        )
        partners.append(f"partner{n}@bench.example")

    server, port = start_server(env)
    # The sender beside the load, writing its mails as files (no mail server here).
    mail_folder = TemporaryDirectory(prefix="bench-mail-")
    env = dict(
        env,
        MAIL_BACKEND="file",
        MAIL_FOLDER=mail_folder.name,
        DUTY_MAILBOX="duty@bench.example",  # for the dossiers nobody leads
    )
    sender = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "dossiers", "notify", "--loop", "--interval", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        tally, budget = Tally(), [args.requests]
        stop = time.perf_counter() + args.seconds
        began = time.perf_counter()
        threads = [
            threading.Thread(
                target=officer_loop,
                args=(port, f"officer{n}@bench.example", secrets[n], tally, stop, budget),
            )
            for n in range(args.officers)
        ]
        threads += [
            threading.Thread(target=partner_loop, args=(port, email, tally, stop, budget))
            for email in partners
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(timeout=10)
        sender.terminate()
        sender.wait(timeout=30)
    while "Mails sent: 0;" not in flask("notify", env=env):
        pass  # what the loop had not reached yet, 500 a round
    mails = len(list(Path(mail_folder.name).glob("*.eml")))
    mail_folder.cleanup()
    return report(tally, elapsed, url, mails)


def report(tally: Tally, elapsed: float, url: str, mail_files: int) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        found_dossiers = connection.execute(
            text("SELECT count(*) FROM dossier WHERE reference = ANY(:refs)"),
            {"refs": tally.written["dossiers"]},
        ).scalar()
        found_persons = connection.execute(
            text("SELECT count(*) FROM person WHERE name = ANY(:names)"),
            {"names": tally.written["persons"]},
        ).scalar()
        found_acks = connection.execute(
            text("SELECT count(*) FROM measure WHERE id = ANY(:ids) AND status <> 'requested'"),
            {"ids": [int(i) for i in tally.written["acknowledgements"]]},
        ).scalar()
        chain = connection.execute(text("SELECT count(*) FROM audit_event")).scalar()
        found_questions = connection.execute(
            text("SELECT count(*) FROM measure_message WHERE reason = ANY(:reasons)"),
            {"reasons": tally.written["questions"]},
        ).scalar()
        # Every question's mail: made with it, to the lead officer or the duty mailbox.
        question_mails = dict(
            connection.execute(
                text(
                    "SELECT status, count(*) FROM notification "
                    "WHERE kind = 'partner.question' GROUP BY status"
                )
            ).all()
        )
        sent_rows = connection.execute(
            text("SELECT count(*) FROM notification WHERE status = 'sent'")
        ).scalar()
    engine.dispose()
    total = sum(len(v) for v in tally.latency.values())
    errors = sum(n for codes in tally.status.values() for code, n in codes.items() if code >= 500)
    print(f"{total} requests in {elapsed:.1f} s: {total / elapsed:.0f} requests/s; 5xx: {errors}")
    print(f"{'request':<28}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}  statuses")
    for name, values in sorted(tally.latency.items()):
        values = sorted(values)
        q = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
        p50, p95, p99 = (q[i] * 1000 for i in (49, 94, 98))
        codes = json.dumps(dict(tally.status[name]))
        print(f"{name:<28}{len(values):>6}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}  {codes}")
    lost = {
        "dossiers": len(tally.written["dossiers"]) - found_dossiers,
        "persons": len(tally.written["persons"]) - found_persons,
        "acknowledgements": len(tally.written["acknowledgements"]) - found_acks,
        "questions": len(tally.written["questions"]) - found_questions,
    }
    answered = {kind: len(tally.written[kind]) for kind in lost}
    print(f"writes answered with success: {answered}")
    print(f"lost writes: {lost}; audit events in the chain: {chain}")
    made = sum(question_mails.values())
    unsent = made - question_mails.get("sent", 0)
    # Each sent row is one file named by its row: a mail sent twice would still be one
    # file, but a row sent and not marked would stay pending and count as unsent.
    print(
        f"questions' mails: {made} made for {found_questions} questions, {unsent} not sent; "
        f"mails sent in all: {sent_rows}, files written: {mail_files}"
    )
    mails_lost = made != found_questions or unsent or sent_rows != mail_files
    return 0 if errors == 0 and not any(lost.values()) and not mails_lost else 1


if __name__ == "__main__":
    sys.exit(main())
