"""`pustaka` command line: run, chat, init, import, outbox."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import ConfigError, Settings, load_settings
from bot.content import ContentError, load_content_file, parse_content
from bot.runtime import Runtime
from storage import Storage
from storage.clock import utcnow
from storage.content import ContentImportError, ContentRepo
from storage.errors import NotFound
from storage.guard import DatabaseMissing

log = logging.getLogger("pustaka")

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pustaka", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="serve the configured channels (terminal chat if none)")
    chat = sub.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument(
        "--as",
        dest="as_user",
        metavar="USER_ID",
        help="act as this Telegram user id (to use its roles)",
    )
    init = sub.add_parser("init", help="create the database")
    init.add_argument("--sample", action="store_true", help="load the sample NTT content")
    init.add_argument(
        "--if-missing", action="store_true", help="do nothing when the database already has content"
    )
    imp = sub.add_parser("import", help="load a content file (YAML)")
    imp.add_argument("file", type=Path)
    outbox = sub.add_parser("outbox", help="what waits to be delivered; retry failed rows")
    outbox.add_argument("action", nargs="?", choices=["retry-failed"])
    report = sub.add_parser("report", help="a month's participation figures as CSV (/statistik)")
    report.add_argument("--month", help="YYYY-MM (default: last month, WITA)")
    report.add_argument("--regency", help="one regency code (default: the whole province)")
    report.add_argument("--lang", choices=["id", "en"], default="id")
    report.add_argument("--out", default="-", help="CSV file to write (default: print)")
    sub.add_parser("registrations", help="upcoming events: check-in codes and registrations")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(
        level=logging.INFO if args.command == "run" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Its INFO line for every outbox poll (each second) would drown the log.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # python-telegram-bot 22 warns on every 429 about retry_after's coming type; opt in now.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    commands = {
        "run": _run,
        "chat": _chat,
        "init": _init,
        "import": _import,
        "outbox": _outbox,
        "report": _report,
        "registrations": _registrations,
    }
    try:
        return asyncio.run(commands[args.command](settings, args))
    except KeyboardInterrupt:
        return 0
    except DatabaseMissing as exc:  # storage/guard.py: never an empty database in its place
        logging.getLogger("pustaka").critical("%s", exc)
        print(f"Database error: {exc}", file=sys.stderr)
        return 1


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    runtime = await Runtime.open(settings)
    try:
        if not (settings.telegram_enabled or settings.whatsapp is not None):
            print(
                "No channel configured (set TELEGRAM_BOT_TOKEN to serve Telegram): "
                "opening the terminal chat."
            )
            from bot.channels.terminal import chat

            await chat(runtime.dispatcher)
            return 0
        from bot.serve import serve

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await serve(runtime, stop)
    finally:
        await runtime.close()


async def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.channels.terminal import chat

    runtime = await Runtime.open(settings)
    try:
        if args.as_user:
            await chat(runtime.dispatcher, channel="telegram", user_id=args.as_user)
        else:
            await chat(runtime.dispatcher)
        return 0
    finally:
        await runtime.close()


async def _outbox(settings: Settings, args: argparse.Namespace) -> int:
    storage = await Storage.open(settings.db_path)
    try:
        if args.action == "retry-failed":
            count = await storage.outbox.retry_failed()
            print(f"{count} failed rows put back to pending.")
            return 0
        stats = await storage.outbox.stats()
        print(f"{settings.db_path}: outbox")
        if not stats.by_status:
            print("  empty")
            return 0
        statuses = ("pending", "sending", "sent", "failed", "cancelled", "held")
        print("  " + "  ".join(f"{s}: {stats.by_status.get(s, 0)}" for s in statuses))
        print("  by kind:")
        for kind, counts in stats.by_kind.items():
            detail = ", ".join(f"{s} {n}" for s, n in counts.items())
            print(f"    {kind}: {detail}")
        if stats.oldest_pending is not None:
            due, kind, key = stats.oldest_pending
            print(f"  oldest pending: {key} ({kind}), due {due:%Y-%m-%d %H:%M:%S} UTC")
        return 0
    finally:
        await storage.close()


def _today(settings: Settings) -> datetime:
    return datetime.now(ZoneInfo(settings.timezone))


async def _init(settings: Settings, args: argparse.Namespace) -> int:
    storage = await Storage.open(settings.db_path)
    try:
        if args.if_missing and await storage.libraries.count() > 0:
            return 0
        if args.sample:
            sample = resources.files("bot.sample").joinpath("ntt.yaml").read_text("utf-8")
            content = parse_content(
                sample, timezone=settings.timezone, today=_today(settings).date()
            )
            result = await ContentRepo(storage.db).import_content(content, is_sample=True)
            print(f"{settings.db_path}: sample content loaded ({result}).")
        else:
            print(f"{settings.db_path}: database ready.")
        return 0
    finally:
        await storage.close()


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    storage = await Storage.open(settings.db_path)
    try:
        repo = ContentRepo(storage.db)
        try:
            content = load_content_file(
                args.file,
                timezone=settings.timezone,
                today=_today(settings).date(),
                known_library_slugs=await repo.library_slugs(),
            )
        except ContentError as exc:
            print(f"{args.file}: {exc}", file=sys.stderr)
            print("Nothing was imported.", file=sys.stderr)
            return 1
        try:
            result = await repo.import_content(content, is_sample=False)
        except (ContentImportError, NotFound) as exc:
            print(f"{args.file}: {exc}", file=sys.stderr)
            print("Nothing was imported.", file=sys.stderr)
            return 1
        print(f"{args.file}: imported ({result}).")
        return 0
    finally:
        await storage.close()


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    """The figures /statistik shows, for the monthly report to the national library."""
    import csv
    import io

    from bot.i18n import Translator
    from handlers.staff.stats import compute, parse_month, previous_months, rows

    if args.month:
        chosen = parse_month(args.month)
        if chosen is None:
            print(f"--month: expected YYYY-MM, got {args.month!r}", file=sys.stderr)
            return 1
    else:
        chosen = previous_months(utcnow(), settings.timezone, 1)[0]
    storage = await Storage.open(settings.db_path)
    try:
        if args.regency is not None:
            try:
                await storage.libraries.regency(code=args.regency)
            except NotFound:
                print(f"--regency: unknown regency code {args.regency!r}", file=sys.stderr)
                return 1
        stats = await compute(
            storage,
            year=chosen[0],
            month=chosen[1],
            regency_code=args.regency,
            timezone=settings.timezone,
        )
        figures = await rows(storage, Translator(settings.timezone), args.lang, stats)
    finally:
        await storage.close()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["month", "scope", "section", "item", "value"])
    label = f"{chosen[0]}-{chosen[1]:02d}"
    for section, item, value in figures:
        writer.writerow([label, args.regency or "ntt", section, item, value])
    if args.out == "-":
        print(out.getvalue(), end="")
    else:
        # With a BOM so that Excel, which most coordinators use, reads the accents right.
        await asyncio.to_thread(Path(args.out).write_text, out.getvalue(), encoding="utf-8-sig")
        print(f"{args.out}: {len(figures)} figures for {label}.")
    return 0


async def _registrations(settings: Settings, args: argparse.Namespace) -> int:
    """For the librarian at the door: each upcoming event's check-in code and numbers."""
    storage = await Storage.open(settings.db_path)
    try:
        found = await storage.registrations.overview(now=utcnow())
        print(
            f"{'code':<7} {'starts (UTC)':<17} {'seats':>9} {'wait':>5} {'here':>5} "
            f"{'walk-in':>7}  event"
        )
        for item in found:
            counts = item.counts
            seats = f"{counts.confirmed}/{counts.capacity or '-'}"
            print(
                f"{item.checkin_code:<7} {item.starts_at:%Y-%m-%d %H:%M}  {seats:>9} "
                f"{counts.waitlisted:>5} {counts.attended:>5} {counts.walk_ins:>7}  "
                f"{item.slug} ({item.status})"
            )
        return 0
    finally:
        await storage.close()


if __name__ == "__main__":
    sys.exit(main())
