"""`pustaka harvest [--library SLUG] [--status]`, and the sample catalogue at `init --sample`."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.catalogue.harvest import HarvestOutcome, harvest_all
from bot.catalogue.progress import Progress, for_terminal
from bot.catalogue.sample import bundled_server
from storage import Storage


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    harvest = sub.add_parser(
        "harvest",
        help="harvest the libraries' book catalogues (OAI-PMH) into the search index",
        description="Harvest every library's INLISLite or SLiMS catalogue (catalogue: in the "
        "content file) over OAI-PMH into the search index; a failed harvest keeps the previous "
        "catalogue. See docs/catalogue.md.",
    )
    harvest.add_argument("--library", metavar="SLUG", help="only this library")
    harvest.add_argument(
        "--status", action="store_true", help="per library: records, last success, last error"
    )


def _when(moment: datetime | None, timezone: str) -> str:
    if moment is None:
        return "never"
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


async def status(storage: Storage, slug: str | None, timezone: str) -> int:
    sources = await storage.catalogue.sources(slug=slug)
    if not sources:
        print("No library has a catalogue configured (catalogue: in the content file).")
        return 0 if slug is None else 1
    print(f"{'library':<28} {'system':<10} {'records':>8}  {'last success':<17} last error")
    for s in sources:
        error = "-"
        if s.last_error:
            error = f"{_when(s.last_error_at, timezone)}: {s.last_error}"
        print(
            f"{s.library_slug:<28} {s.system:<10} {s.records:>8,}  "
            f"{_when(s.last_success_at, timezone):<17} {error}"
            + ("  (sample)" if s.is_sample else "")
        )
    return 0


async def harvest(storage: Storage, slug: str | None, *, quiet: bool = False) -> int:
    """Harvest every library (or one); exit status 1 when any of them failed."""
    if not await storage.catalogue.sources(slug=slug):
        if slug is None:
            print("No library has a catalogue configured (catalogue: in the content file).")
            return 0
        print(f"--library: no catalogue is configured for {slug!r}", file=sys.stderr)
        return 1
    progress_for = Progress.quiet if quiet else for_terminal
    async with bundled_server() as url_for:
        outcomes = await harvest_all(storage, slug=slug, progress_for=progress_for, url_for=url_for)
    return report(outcomes, quiet=quiet)


def report(outcomes: list[HarvestOutcome], *, quiet: bool) -> int:
    failed = [o for o in outcomes if o.error is not None]
    if not quiet and failed:
        print(f"{len(failed)} of {len(outcomes)} catalogues failed; their records were kept.")
    return 1 if failed else 0
