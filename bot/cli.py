"""`pustaka` command line: run the bot, chat in the terminal, load content, and the staff's
views of the data (registrations, monthly report, audit log, outbox), and operating the
database (migrate, copy to PostgreSQL, backup, restore). Times are shown in WITA.
Every command has its own help: `pustaka COMMAND --help`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from dataclasses import replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import cli_ops
from bot.catalogue import cli as catalogue_cli
from bot.config import ConfigError, Settings, load_settings
from bot.content import Content, ContentError, load_content_file, parse_content
from bot.runtime import Runtime
from storage import Storage
from storage.clock import utcnow
from storage.content import CapacityBelowRegistrations, ContentImportError, ContentRepo
from storage.errors import NotFound
from storage.guard import DatabaseMissing

log = logging.getLogger("pustaka")

EXIT_CONFIG = 2
_OPERATIONS: dict[str, cli_ops.Command] = {}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pustaka", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=description)

    command(
        "run",
        "serve the configured channels (terminal chat if none)",
        "Serve Telegram (long polling or webhook) and WhatsApp as configured in the environment "
        "or .env; with no channel configured, open the terminal chat instead.",
    )
    chat = command(
        "chat",
        "talk to the bot in this terminal",
        "Talk to the bot in this terminal, with the delivery worker running: reminders, "
        "promotions and announcements for you are printed as they are sent. /quit leaves.",
    )
    chat.add_argument(
        "--as",
        dest="as_user",
        metavar="USER_ID",
        help="act as this Telegram user id (to use its roles, e.g. an id in PUSTAKA_ADMINS)",
    )
    init = command(
        "init", "create the database", "Create the database (PUSTAKA_DB) and apply migrations."
    )
    init.add_argument("--sample", action="store_true", help="load the sample NTT content")
    init.add_argument(
        "--if-missing", action="store_true", help="do nothing when the database already has content"
    )
    imp = command(
        "import",
        "load a content file (YAML)",
        "Load libraries and events from a YAML content file (format: docs/content-file.md). "
        "A broken file is refused with the line and the reason, and nothing is imported.",
    )
    imp.add_argument("file", type=Path, metavar="FILE", help="the YAML content file to load")
    outbox = command(
        "outbox",
        "what waits to be delivered; retry failed rows",
        "Counts of outbox rows by status and kind, and the oldest pending row.",
    )
    outbox.add_argument(
        "action",
        nargs="?",
        choices=["retry-failed"],
        help="retry-failed: put failed rows back to pending",
    )
    report = command(
        "report",
        "a month's participation figures as CSV (/statistik)",
        "A month's participation figures (the same as /statistik) as CSV.",
    )
    report.add_argument("--month", help="YYYY-MM (default: last month, WITA)")
    report.add_argument(
        "--regency", help="one regency, by code or name in any case (default: the whole province)"
    )
    report.add_argument("--lang", choices=["id", "en"], default="id", help="language of the labels")
    report.add_argument("--out", default="-", help="CSV file to write (default: print)")
    command(
        "registrations",
        "upcoming events: check-in codes and registrations",
        "Events that have not ended: start (WITA), check-in code, seats, waiting list, "
        "present and walk-ins, and the title.",
    )
    demo = command(
        "demo-reminder",
        "move a sample event so its 2-hour reminder comes within a minute",
        "Move a sample event (one you registered for in `pustaka chat`, else the soonest open "
        "one) to start 2 hours and 1 minute from now. Registrants are told of the new time at "
        "once, and the 2-hour reminder falls due a minute later: a running `pustaka chat` "
        "prints both. Only sample events are moved.",
    )
    demo.add_argument(
        "--as",
        dest="as_user",
        metavar="USER_ID",
        help="the Telegram user id used with `pustaka chat --as` (default: the terminal user)",
    )
    audit = command(
        "audit",
        "the audit log in words (who did what, WITA)",
        "The audit log, newest first, in words, with the time in WITA.",
    )
    audit.add_argument("--person", help="one person's actions: a user id or channel:id")
    audit.add_argument("--event", type=int, help="actions on one event (its number)")
    audit.add_argument("--date", help="one day, DD-MM-YYYY or YYYY-MM-DD (WITA)")
    audit.add_argument("--limit", type=int, default=50, help="how many entries (default 50)")
    audit.add_argument("--lang", choices=["id", "en"], default="id", help="language of the lines")
    catalogue_cli.add_parser(sub)
    _OPERATIONS.update(cli_ops.add_parsers(sub))
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
        "harvest": _harvest,
        "audit": _audit,
        "demo-reminder": _demo_reminder,
        **_OPERATIONS,
    }
    try:
        status = asyncio.run(commands[args.command](settings, args))
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not at exit
        return status
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        # `pustaka registrations | head`: the reader left; that is no error. Python would
        # complain again flushing stdout at exit, so point it at nothing first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except DatabaseMissing as exc:  # storage/guard.py: never an empty database in its place
        logging.getLogger("pustaka").critical("%s", exc)
        print(f"Database error: {exc}", file=sys.stderr)
        return 1


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    terminal = not settings.any_channel
    if terminal:
        from bot.dashboard.serve import terminal_settings

        settings = terminal_settings(settings)
    runtime = await Runtime.open(settings)
    try:
        if terminal:
            print(
                "No channel configured (set TELEGRAM_BOT_TOKEN to serve Telegram): "
                "opening the terminal chat."
            )
            from bot.dashboard.serve import start_terminal_dashboard

            dashboard = await start_terminal_dashboard(runtime)
            try:
                await _terminal_chat(runtime, settings, "terminal", "local")
            finally:
                if dashboard is not None:
                    await dashboard.stop()
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
    runtime = await Runtime.open(settings)
    try:
        if args.as_user:
            await _terminal_chat(runtime, settings, "telegram", args.as_user)
        else:
            await _terminal_chat(runtime, settings, "terminal", "local")
        return 0
    finally:
        await runtime.close()


async def _terminal_chat(runtime: Runtime, settings: Settings, channel: str, user: str) -> None:
    """The terminal chat with the delivery worker running in the same process, so reminders,
    promotions and announcements for this identity show up as they fall due."""
    from bot.channels.terminal import chat
    from bot.terminal_delivery import TerminalDelivery

    delivery = TerminalDelivery(
        runtime.storage,
        runtime.translator,
        channel=channel,
        recipient=user,
        sink=sys.stdout,
        timezone=settings.timezone,
        reminder_offsets=settings.reminder_offsets,
    )
    await delivery.start()
    try:
        await chat(runtime.dispatcher, channel=channel, user_id=user)
    finally:
        await delivery.stop()


async def _outbox(settings: Settings, args: argparse.Namespace) -> int:
    storage = await Storage.open(settings.db_path)
    try:
        if args.action == "retry-failed":
            count = await storage.outbox.retry_failed(now=utcnow())
            print(f"{count} failed rows put back to pending.")
            return 0
        stats = await storage.outbox.stats()
        print(f"{settings.db_path}: outbox")
        if not stats.by_status:
            print("  empty")
            await _sms_summary(storage, settings)
            return 0
        statuses = ("pending", "sending", "sent", "failed", "cancelled", "held")
        print("  " + "  ".join(f"{s}: {stats.by_status.get(s, 0)}" for s in statuses))
        print("  by kind:")
        for kind, counts in stats.by_kind.items():
            detail = ", ".join(f"{s} {n}" for s, n in counts.items())
            print(f"    {kind}: {detail}")
        if stats.oldest_pending is not None:
            due, kind, key = stats.oldest_pending
            local = due.astimezone(ZoneInfo(settings.timezone))
            print(f"  oldest pending: {key} ({kind}), due {local:%d-%m-%Y %H.%M.%S} WITA")
        await _sms_summary(storage, settings)
        return 0
    finally:
        await storage.close()


async def _sms_summary(storage: Storage, settings: Settings) -> None:
    """SMS costs money per segment: today's messages and segments against the budget."""
    day = await storage.sms.day(day=_today(settings).date().isoformat())
    rows = await storage.sms.outbox_counts()
    if settings.sms is None and not day.segments and not rows:
        return
    budget = f" of {settings.sms.daily_limit}" if settings.sms is not None else ""
    messages = sum(count for count, _ in day.by_kind.values())
    print(
        f"  sms today ({day.day} {settings.timezone}): {messages} messages, "
        f"{day.segments} segments{budget}"
    )
    for kind, (count, segments) in day.by_kind.items():
        print(f"    {kind}: {count} messages, {segments} segments")
    if rows:
        print("  sms rows: " + ", ".join(f"{status} {n}" for status, n in sorted(rows.items())))


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
            result = await ContentRepo(storage.db).import_content(
                content, is_sample=True, now=utcnow()
            )
            print(f"{settings.db_path}: sample content loaded ({result}).")
            # The sample libraries' book catalogue, from the bundled OAI-PMH responses.
            await catalogue_cli.harvest(storage, None, quiet=True)
            books = sum(s.records for s in await storage.catalogue.sources())
            print(f"{settings.db_path}: sample book catalogue loaded ({books} books).")
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
        content = _close_past_events(content, args.file)
        try:
            result = await repo.import_content(content, is_sample=False, now=utcnow())
        except CapacityBelowRegistrations as exc:
            where = f"line {exc.event.line}: " if exc.event.line else ""
            print(
                f"{args.file}: {where}event '{exc.event.slug}' ({exc.event.title}): "
                f"{exc.taken} people already hold a seat, so the capacity cannot be "
                f"{exc.event.capacity}. Give it a capacity of at least {exc.taken}, or cancel "
                "registrations in the chat first.",
                file=sys.stderr,
            )
            print("Nothing was imported.", file=sys.stderr)
            return 1
        except (ContentImportError, NotFound) as exc:
            print(f"{args.file}: {exc}", file=sys.stderr)
            print("Nothing was imported.", file=sys.stderr)
            return 1
        print(f"{args.file}: imported ({result}).")
        return 0
    finally:
        await storage.close()


def _close_past_events(content: Content, file: Path) -> Content:
    """An event whose start has passed is imported with registration closed, with a warning:
    a resident must not be offered a seat at something that already took place."""
    now = utcnow()
    events = []
    for event in content.events:
        if event.starts_at <= now and event.status == "open":
            where = f"line {event.line}: " if event.line else ""
            print(
                f"{file}: warning: {where}event '{event.slug}' ({event.title}) started in the "
                "past; imported with registration closed.",
                file=sys.stderr,
            )
            event = replace(event, status="closed")
        events.append(event)
    return Content(content.libraries, tuple(events))


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    """The figures /statistik shows, for the monthly report to the national library."""
    import csv
    import io

    from bot.i18n import Translator
    from handlers.staff.stats import compute, find_regency, parse_month, previous_months, rows

    if args.month:
        chosen = parse_month(args.month)
        if chosen is None:
            print(f"--month: expected YYYY-MM, got {args.month!r}", file=sys.stderr)
            return 1
    else:
        chosen = previous_months(utcnow(), settings.timezone, 1)[0]
    storage = await Storage.open(settings.db_path)
    try:
        regency = None
        if args.regency is not None:
            regency, closest = find_regency(await storage.libraries.regencies(), args.regency)
            if regency is None:
                hint = f"; did you mean {closest!r}?" if closest else ""
                print(f"--regency: unknown regency {args.regency!r}{hint}", file=sys.stderr)
                return 1
        stats = await compute(
            storage,
            year=chosen[0],
            month=chosen[1],
            regency_code=regency,
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
        writer.writerow([label, regency or "ntt", section, item, value])
    if args.out == "-":
        print(out.getvalue(), end="")
    else:
        # With a BOM so that Excel, which most coordinators use, reads the accents right.
        await asyncio.to_thread(Path(args.out).write_text, out.getvalue(), encoding="utf-8-sig")
        print(f"{args.out}: {len(figures)} figures for {label}.")
    return 0


async def _registrations(settings: Settings, args: argparse.Namespace) -> int:
    """For the librarian at the door: each upcoming event's check-in code and numbers."""
    zone = ZoneInfo(settings.timezone)
    storage = await Storage.open(settings.db_path)
    try:
        found = await storage.registrations.overview(now=utcnow())
        print(
            f"{'code':<7} {'starts (WITA)':<16} {'seats':>9} {'wait':>5} {'here':>5} "
            f"{'walk-in':>7}  event (#number for DAFTAR by SMS)"
        )
        for item in found:
            counts = item.counts
            seats = f"{counts.confirmed}/{counts.capacity or '-'}"
            starts = item.starts_at.astimezone(zone)
            print(
                f"{item.checkin_code:<7} {starts:%d-%m-%Y %H.%M} {seats:>9} "
                f"{counts.waitlisted:>5} {counts.attended:>5} {counts.walk_ins:>7}  "
                f"#{item.event_id} {item.title} ({item.status})"
            )
        return 0
    finally:
        await storage.close()


async def _harvest(settings: Settings, args: argparse.Namespace) -> int:
    storage = await Storage.open(settings.db_path)
    try:
        if args.status:
            return await catalogue_cli.status(storage, args.library, settings.timezone)
        return await catalogue_cli.harvest(storage, args.library)
    finally:
        await storage.close()


async def _demo_reminder(settings: Settings, args: argparse.Namespace) -> int:
    """A sample event moved to start in 2 h 1 min, so a reminder can be seen without waiting."""
    from datetime import timedelta

    now = utcnow()
    channel, user = ("telegram", args.as_user) if args.as_user else ("terminal", "local")
    storage = await Storage.open(settings.db_path)
    try:
        person = await storage.residents.find(channel=channel, external_id=user)
        candidates = []
        for item in await storage.registrations.overview(now=now):
            event = await storage.events.get(event_id=item.event_id)
            if not event.is_sample or event.status != "open" or event.starts_at <= now:
                continue
            mine = []
            if person is not None:
                mine = await storage.registrations.for_resident(
                    resident_id=person.id, event_id=event.id
                )
            candidates.append((not any(r.status == "confirmed" for r in mine), event))
        if not candidates:
            print("No open sample event to move: run `pustaka init --sample` first.")
            return 1
        _, event = min(candidates, key=lambda pair: (pair[0], pair[1].starts_at))
        starts = now + timedelta(hours=2, minutes=1)
        result = await storage.registrations.reschedule_event(
            event_id=event.id,
            starts_at=starts,
            ends_at=starts + (event.ends_at - event.starts_at),
            now=now,
        )
    finally:
        await storage.close()
    local = starts.astimezone(ZoneInfo(settings.timezone))
    print(
        f"'{event.title}' now starts {local:%d-%m-%Y %H.%M} WITA; {result.notified} registrants "
        "told. Its 2-hour reminder falls due in about a minute (a running `pustaka chat` "
        "prints it)."
    )
    return 0


async def _audit(settings: Settings, args: argparse.Namespace) -> int:
    """The audit log as /audit shows it, for whoever keeps the records."""
    from bot.i18n import Translator
    from handlers.staff.audit_text import AuditFilter, entries, lines
    from handlers.staff.when import parse_day

    day = None
    if args.date:
        day = parse_day(args.date)
        if day is None:
            print(f"--date: expected DD-MM-YYYY or YYYY-MM-DD, got {args.date!r}", file=sys.stderr)
            return 1
    person = args.person
    if person is not None and ":" not in person:
        person = f"telegram:{person}"
    where = AuditFilter(person=person, event_id=args.event, day=day)
    storage = await Storage.open(settings.db_path)
    try:
        found, total = await entries(storage, where, settings.timezone, offset=0, limit=args.limit)
        text = await lines(
            storage, Translator(settings.timezone), args.lang, settings.timezone, found
        )
    finally:
        await storage.close()
    for line in text:
        print(line)
    print(f"({len(found)} of {total} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
