"""Print the benchmark table from bench/run.py's JSON files and keep it in RESULTS.md.

`python bench/table.py OUT.json [OUT.json …] [--results bench/RESULTS.md]`
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
from pathlib import Path

BARE = "bare endpoint /healthz"
# Targets from the issue: the share of the bare endpoint's throughput a page must keep.
SHARE_TARGET = {"dossier page": 0.25, "partner's measures": 0.25, "dossier list": 0.15}
GROWTH_TARGET = 1.3
REPORT_TARGET = 1.5
MEMORY_TARGET = 1.2
UPLOAD_TARGET = 5.0  # seconds for a 300-line delegation list, preview and commit
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def rounds(run: dict) -> str:
    """How many rounds of how long, as the JSON tells."""
    page = next(iter(run["pages"].values()))
    return f" ({len(page['rounds'])} rounds a page)" if "rounds" in page else ""


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def tables(runs: list[dict]) -> str:
    by = {(r["database"], r["factor"]): r for r in runs}
    databases = sorted({r["database"] for r in runs}, key=lambda d: d != "sqlite")
    factors = sorted({r["factor"] for r in runs})
    low, high = factors[0], factors[-1]
    out = []
    for database in databases:
        out.append(f"\n### {database}\n")
        hello = by[(database, low)].get("hello")
        if hello:
            out.append(
                f"The true bare limit, a hello-world Flask app under the same gunicorn "
                f"settings, measured in the same turns as /healthz: {hello['rps']:.0f} req/s, "
                f"p50 {hello['p50'] * 1000:.1f} ms.\n"
            )
        head = "| page | " + " | ".join(
            f"F={f} req/s | F={f} p50 ms | F={f} p95 ms | F={f} share of bare "
            f"| F={f} share of hello-world"
            for f in factors
        )
        out.append(head + f" | p50 growth F={low}→{high} |")
        out.append("|" + "---|" * (1 + 5 * len(factors) + 1))
        names = list(by[(database, low)]["pages"])
        for name in names:
            cells = [name]
            for f in factors:
                page = by[(database, f)]["pages"][name]
                bare = by[(database, f)]["pages"][BARE]["rps"]
                share = page["rps"] / bare
                target = SHARE_TARGET.get(name)
                mark = f" ({verdict(share >= target)} ≥ {target:.0%})" if target else ""
                hello = by[(database, f)].get("hello")
                cells += [
                    f"{page['rps']:.0f}",
                    f"{page['p50'] * 1000:.1f}",
                    f"{page['p95'] * 1000:.1f}",
                    f"{share:.0%}{mark}",
                    f"{page['rps'] / hello['rps']:.0%}" if hello else "—",
                ]
            growth = (
                by[(database, high)]["pages"][name]["p50"]
                / by[(database, low)]["pages"][name]["p50"]
            )
            cells.append(f"{growth:.2f}× ({verdict(growth <= GROWTH_TARGET)})")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        out.append("| measure | " + " | ".join(f"F={f}" for f in factors) + " | target |")
        out.append("|---|" + "---|" * len(factors) + "---|")
        report_cells, page_cells, memory_cells = [], [], {"csv": [], "xlsx": []}
        for f in factors:
            run = by[(database, f)]
            sql = run["report_sql"]
            ratio = sql["build"] / sql["sql"]
            page_ratio = run["pages"]["yearly report"]["p50"] / sql["sql"]
            report_cells.append(
                f"{ratio:.2f}× ({sql['build'] * 1000:.0f} / {sql['sql'] * 1000:.0f} ms, "
                f"{sql['statements']} statements) {verdict(ratio <= REPORT_TARGET)}"
            )
            page_cells.append(f"{page_ratio:.2f}× {verdict(page_ratio <= REPORT_TARGET)}")
            for fmt in ("csv", "xlsx"):
                m = run["export_memory"][fmt]
                grew = (m["peak_kib"] - m["peak_before_kib"]) / 1024
                memory_cells[fmt].append(f"{m['peak_kib'] / 1024:.0f} MiB (+{grew:.1f})")
        out.append(
            "| yearly report built / its SQL alone | " + " | ".join(report_cells) + " | ≤ 1.5× |"
        )
        out.append(
            "| yearly report page p50 / its SQL alone | " + " | ".join(page_cells) + " | — |"
        )
        rows = [by[(database, f)]["export_memory"]["csv"]["csv_lines"] - 1 for f in factors]
        out.append("| rows in the export | " + " | ".join(f"{n:,}" for n in rows) + " | |")
        for fmt in ("csv", "xlsx"):
            first = by[(database, low)]["export_memory"][fmt]["peak_kib"]
            last = by[(database, high)]["export_memory"][fmt]["peak_kib"]
            out.append(
                f"| export {fmt.upper()} peak memory (above warm-up) | "
                + " | ".join(memory_cells[fmt])
                + f" | ≤ {MEMORY_TARGET}×: {last / first:.2f}× "
                + f"{verdict(last / first <= MEMORY_TARGET)} |"
            )
        if all("upload" in by[(database, f)] for f in factors):
            uploads = []
            for f in factors:
                u = by[(database, f)]["upload"]
                total = u["preview"] + u["commit"]
                uploads.append(
                    f"{total:.2f} s ({u['preview']:.2f} preview + {u['commit']:.2f} commit) "
                    f"{verdict(total < UPLOAD_TARGET)}"
                )
            out.append(
                "| 300-line delegation list, preview + commit | "
                + " | ".join(uploads)
                + f" | < {UPLOAD_TARGET:.0f} s |"
            )
        seeds = [f"{by[(database, f)]['seed_seconds']:.0f} s" for f in factors]
        out.append("| seed-scale time | " + " | ".join(seeds) + " | |")
    return "\n".join(out)


def machine() -> str:
    cores = os.cpu_count()
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{platform.platform()}, {cores} cores{memory}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    runs = [r for path in args.runs if path.exists() for r in json.loads(path.read_text())]
    if not runs:
        raise SystemExit("no results to show")
    first = runs[0]
    text = (
        f"`make bench` on {dt.date.today():%d/%m/%Y}; {machine()}.\n"
        f"{first['years']} years of data per factor; gunicorn, 2 sync workers, production "
        f"configuration; hey on the same machine (loopback). Both factors' servers run side "
        f"by side and each page is measured in turns (F=1, F=100, …); the round of median "
        f"throughput counts{rounds(first)}.\n" + tables(runs)
    )
    print(text)
    if args.results:
        old = args.results.read_text() if args.results.exists() else ""
        block = f"{BEGIN}\n{text}\n{END}"
        if BEGIN in old and END in old:
            new = old[: old.index(BEGIN)] + block + old[old.index(END) + len(END) :]
        else:
            new = old.rstrip() + "\n\n## Scale benchmark (`make bench`)\n\n" + block + "\n"
        args.results.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
