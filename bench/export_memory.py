"""Peak memory of one export, in a process of its own: `export_memory.py PATH`.

Signs in as the analyst (bench/run.py made the account), warms up on the report page,
then downloads PATH through the app and prints the process's peak resident memory before
and after, with the size of what was sent. Run by bench/run.py.
"""

from __future__ import annotations

import json
import re
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dossiers import create_app  # noqa: E402

PASSWORD = "Tilted-Lantern-Orchard-93"
# Production cookies are Secure, and CSRF over https wants a same-origin Referer.
HTTPS = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/login"}}


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(path: str) -> None:
    app = create_app()
    client = app.test_client()
    page = client.get("/login", **HTTPS).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    signed_in = client.post(
        "/login",
        data={"email": "analyst@bench.example", "password": PASSWORD, "csrf_token": token},
        **HTTPS,
    )
    assert signed_in.status_code == 302, signed_in.status_code
    year = path.split("/")[2]
    assert client.get(f"/statistics/{year}", **HTTPS).status_code == 200
    # Warm the export path too, on a small list, so that imports are not counted.
    small = client.get(f"/statistics/{year}/figures/ministerial_councils/rows.xlsx", **HTTPS)
    small.close()
    before = peak_kib()
    response = client.get(path, buffered=False, **HTTPS)
    assert response.status_code == 200, response.status_code
    sent = lines = 0
    for chunk in response.iter_encoded():
        sent += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    print(
        json.dumps(
            {
                "path": path,
                "bytes": sent,
                "csv_lines": lines,
                "peak_before_kib": before,
                "peak_kib": peak_kib(),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
