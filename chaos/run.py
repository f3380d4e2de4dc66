"""`make chaos`: the standing reliability suite (issue 15). Fuzzers over every way in, then
faults against a real `pustaka run` process; prints one table.

    python chaos/run.py [--fuzz N] [--only fuzz,kill,lock,deleted,outage,load]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "1")

from chaos import faults  # noqa: E402
from chaos.faults import Row, rss_kb  # noqa: E402
from chaos.fuzz import fuzz_all  # noqa: E402


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"


def _mb(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.0f} MB"


def table(rows: list[Row]) -> str:
    head = [
        "scenario",
        "tried",
        "failures",
        "lost",
        "duplicated",
        "p50",
        "p95",
        "p99",
        "RSS before",
        "RSS after",
    ]
    body = [
        [
            r.scenario,
            f"{r.tried:,}",
            str(r.failures),
            str(r.lost),
            str(r.duplicated),
            _ms(r.percentile(50)),
            _ms(r.percentile(95)),
            _ms(r.percentile(99)),
            _mb(r.rss_before),
            _mb(r.rss_after),
        ]
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]

    def fmt(line: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"

    out = [fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [fmt(line) for line in body]
    for r in rows:
        for note in r.notes:
            out.append(f"  {r.scenario}: {note}")
    return "\n".join(out)


async def faults_run(only: set[str], folder: Path) -> list[Row]:
    found = []
    plan = [
        ("kill", faults.kill_loop),
        ("lock", faults.lock_and_stop),
        ("deleted", faults.deleted_file),
        ("outage", faults.api_outage),
        ("load", faults.load_run),
    ]
    for name, scenario in plan:
        if name in only:
            sub = folder / name
            sub.mkdir()
            started = time.monotonic()
            row = await scenario(sub)
            print(f"  {name}: done in {time.monotonic() - started:.0f} s", file=sys.stderr)
            found.append(row)
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fuzz", type=int, default=10_000, help="inputs per fuzzed surface")
    parser.add_argument("--only", default="fuzz,kill,lock,deleted,outage,load")
    args = parser.parse_args()
    only = set(args.only.split(","))
    logging.getLogger().addHandler(logging.NullHandler())
    rows: list[Row] = []
    if "fuzz" in only:
        before = rss_kb(os.getpid())
        started = time.monotonic()
        for surface in fuzz_all(args.fuzz):
            row = Row(surface.name, tried=surface.tried, failures=surface.failures)
            row.latencies = surface.latencies
            row.rss_before, row.rss_after = before, rss_kb(os.getpid())
            row.notes += [f"e.g. {e}" for e in surface.examples[:2]]
            rows.append(row)
        print(f"  fuzz: done in {time.monotonic() - started:.0f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="pustaka-chaos-") as folder:
        rows += asyncio.run(faults_run(only, Path(folder)))
    print(table(rows))
    bad = sum(r.failures for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
