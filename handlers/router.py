"""Every command, button payload and text step in one place, in the order they are tried.

Commands come Indonesian first with English aliases. Payloads are `prefix:argument` strings of at
most 64 bytes; a prefix not listed here, or an argument that no longer means anything, gets the
"menu has expired" answer from the handler.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

from handlers import (
    attendance,
    books,
    events,
    freetext,
    help,
    libraries,
    onboarding,
    paging,
    privacy,
    registration,
    reminders,
    sms_people,
    steps,
    topics,
)
from handlers.common import expired, main_menu
from handlers.places import place_aliases
from handlers.staff import access, broadcast, roles, stats
from handlers.staff import dashboard as staff_dashboard
from handlers.staff import events as staff_events
from handlers.staff import registrations as staff_registrations
from handlers.types import MAX_PAYLOAD_BYTES, MAX_TEXT_CHARS, Choice, Context
from handlers.understand import match_choice

Command = Callable[[Context], Awaitable[None]]
PayloadHandler = Callable[[Context, str], Awaitable[None]]


async def _menu(ctx: Context) -> None:
    main_menu(ctx)


async def _events(ctx: Context) -> None:
    await events.list_events(ctx, where=ctx.home_regency or "*", category="*", days=30, page=0)


async def _cancel(ctx: Context) -> None:
    """/batal: leave whatever flow the person is in, from any step; nothing of it is kept."""
    had_flow = ctx.session.end_flow() is not None
    steps.forget_paused(ctx)
    main_menu(ctx, "common.cancelled" if had_flow else "menu.title")


async def _resume(ctx: Context, arg: str) -> None:
    """ "Lanjutkan pendaftaran": back to the step a flow was left at, answers kept."""
    if not await steps.resume_paused(ctx, arg):
        expired(ctx)


def _no_arg(command: Command) -> PayloadHandler:
    async def run(ctx: Context, arg: str) -> None:
        await command(ctx)

    return run


# (Indonesian, English, handler, catalog key of the menu description). The order is the order of
# Telegram's command menu.
COMMANDS: list[tuple[str, str, Command, str]] = [
    ("start", "start", onboarding.start, "commands.start"),
    ("menu", "menu", _menu, "commands.menu"),
    ("layanan", "services", libraries.show_list, "commands.services"),
    ("acara", "events", _events, "commands.events"),
    ("bantuan", "help", help.show_help, "commands.help"),
    ("bahasa", "language", onboarding.ask_language, "commands.language"),
    ("privasi", "privacy", privacy.show_notice, "commands.privacy"),
    ("datasaya", "mydata", privacy.my_data, "commands.mydata"),
    ("hapusdata", "deletemydata", privacy.ask_delete, "commands.deletemydata"),
    ("berhenti", "stop", privacy.stop_announcements, "commands.stop"),
    ("pengingat", "reminders", reminders.toggle, "commands.reminders"),
    ("langganan", "subscriptions", topics.show, "commands.subscriptions"),
    ("batal", "cancel", _cancel, "commands.cancel"),
    ("acarasaya", "myevents", registration.my_events, "commands.myevents"),
    ("hadir", "checkin", attendance.command, "commands.checkin"),
    ("buku", "books", books.command, "catalogue.command"),
]

# Staff commands: every one wrapped by the access check (role and scope, on every call) and kept
# out of the public command menu. A person without the role gets the unknown-command answer.
STAFF_COMMANDS: list[tuple[str, str, Command]] = [
    ("peran", "roles", access.command(roles.show_roles, "peran")),
    ("beriperan", "grantrole", access.command(roles.grant, "beriperan", access.ADMIN)),
    ("cabutperan", "revokerole", access.command(roles.revoke, "cabutperan", access.ADMIN)),
    ("audit", "audit", access.command(roles.show_audit, "audit", access.ADMIN)),
    ("siaran", "broadcast", access.command(broadcast.start, "siaran")),
    ("siaranku", "mybroadcasts", access.command(broadcast.mine, "siaranku")),
    ("acarabaru", "newevent", access.command(staff_events.new, "acarabaru", access.LIBRARIANS)),
    (
        "kelolaacara",
        "manageevents",
        access.command(staff_events.manage, "kelolaacara", access.LIBRARIANS),
    ),
    ("peserta", "registrations", access.command(staff_registrations.registrations, "peserta")),
    ("ekspor", "export", access.command(staff_registrations.export, "ekspor")),
    ("statistik", "stats", access.command(stats.show, "statistik", access.COORDINATORS)),
    ("dasbor", "dashboard", access.command(staff_dashboard.open_dashboard, "dasbor")),
]


async def _staff_button(ctx: Context, arg: str) -> None:
    """A staff command tapped under /peran: the command itself runs, with its access check."""
    for name, _, handler in STAFF_COMMANDS:
        if name == arg:
            await handler(ctx)
            return
    expired(ctx)


COMMAND_HANDLERS: dict[str, Command] = {}
for _id, _en, _handler, _key in COMMANDS:
    COMMAND_HANDLERS[_id] = _handler
    COMMAND_HANDLERS[_en] = _handler
for _id, _en, _handler in STAFF_COMMANDS:
    COMMAND_HANDLERS[_id] = _handler
    COMMAND_HANDLERS[_en] = _handler
COMMAND_HANDLERS.update(sms_people.COMMANDS)  # SMS numbers and the SMS keywords

PAYLOADS: dict[str, PayloadHandler] = {
    "menu": _no_arg(_menu),
    "help": _no_arg(help.show_help),
    "lang?": _no_arg(onboarding.ask_language),
    "lang": onboarding.choose_language,
    "consent": onboarding.consent,
    "home?": _no_arg(privacy.change_regency),
    "home": onboarding.choose_regency,
    "libs": libraries.show_list,
    "libr": freetext.regency_button,
    "lib": libraries.show_one,
    "evs": events.show_list,
    "evc": events.choose_category,
    "ev": events.show_one,
    "privacy": privacy.show_notice,
    "mydata": _no_arg(privacy.my_data),
    "del?": _no_arg(privacy.ask_delete),
    "del": privacy.delete,
    "ann": privacy.resume_announcements,
    # Registration (handlers/registration.py, handlers/attendance.py).
    "reg": registration.start_self,
    "regp": registration.start_proxy,
    "regu": registration.use_name,
    "regn": registration.change_name,
    "rega": registration.change_answers,
    "rq": registration.answer,
    "reg!": registration.confirm,
    "my": _no_arg(registration.my_events),
    "rc?": registration.ask_cancel,
    "rc": registration.cancel,
    "ics": registration.calendar,
    "hdp": attendance.mark_proxy,
    "batal": _no_arg(_cancel),
    "resume": _resume,
    "tp": topics.toggle,
    # Staff buttons, behind the same access check as the commands.
    "srl": access.payload(roles.list_page, "srl", access.ADMIN),
    "srg": access.payload(roles.grant_button, "srg", access.ADMIN),
    "sau": access.payload(roles.audit_page, "sau", access.ADMIN),
    "srv": access.payload(roles.revoke_button, "srv", access.ADMIN),
    "bc": access.payload(broadcast.button, "bc"),
    "bcm": access.payload(broadcast.mine_page, "bcm"),
    "stc": _staff_button,
    "nev": access.payload(staff_events.new_button, "nev", access.LIBRARIANS),
    "sev": access.payload(staff_events.manage_button, "sev", access.LIBRARIANS),
    "spe": access.payload(staff_registrations.registrations_button, "spe"),
    "sex": access.payload(staff_registrations.export_button, "sex"),
    "sst": access.payload(stats.month_button, "sst", access.COORDINATORS),
    # Reminders (handlers/reminders.py).
    "rmd": reminders.answer,
    # The libraries' book catalogue (handlers/books.py).
    "bk?": books.ask_button,
    "bks": books.page_button,
    "bk": books.holdings,
    # SMS numbers (handlers/sms_people.py).
    **sms_people.PAYLOADS,
}

# No payload we make holds a number this long (SQLite's integers end at 19 digits): a crafted
# one would overflow where it is bound as an id.
_HUGE_NUMBER = re.compile(r"\d{19,}")

# Steps that take a photo (its caption is the text); elsewhere a photo gets "text only".
PHOTO_STEPS = {(broadcast.FLOW, "text")}


def _typing_step(found: tuple[steps.Flow, steps.Step | None] | None) -> bool:
    """A step waiting for typed words (a name, a code) matches shown choices itself."""
    return found is not None and found[1] is not None and found[1].typed is not None


async def _typed_as_choice(ctx: Context) -> bool:
    """Typed text that names a shown choice acts as a tap on it (ctx.incoming becomes that tap).
    Text that could mean several ("kupang": the city or the regency) is answered here with
    those choices; returns True then."""
    shown = ctx.session.state.get("choices")
    if not shown:
        return False
    listed = ctx.session.state.get(paging.KEPT)
    # The alias table only matters where places are offered (the regency question).
    places = any(len(c) > 2 and str(c[2]).startswith("place:") for c in shown)
    aliases = await place_aliases(ctx) if places or listed else None
    match = match_choice(ctx.incoming.text, shown, aliases)
    if match.payload is None and not match.options and listed:
        # A long list shown a page at a time: "TTS" names a regency on any page.
        match = match_choice(ctx.incoming.text, listed, aliases, numbers=False)
    if match.payload is not None:
        ctx.incoming = replace(ctx.incoming, payload=match.payload)
    elif match.options:
        ctx.say(
            ctx.t("steps.which_one"),
            *(Choice(label, payload, means) for label, payload, means in match.options),
        )
        return True
    return False


async def route(ctx: Context) -> None:
    incoming = ctx.incoming
    flow_step = (ctx.session.flow or "", ctx.session.step or "")
    if incoming.media is not None and not (incoming.photo and flow_step in PHOTO_STEPS):
        await help.text_only(ctx)
        return
    if len(incoming.text) > MAX_TEXT_CHARS:
        ctx.say(ctx.t("common.too_long", limit=MAX_TEXT_CHARS), ctx.choice("common.menu", "menu"))
        return
    found = steps.current(ctx)
    if incoming.command is not None:
        if found is not None and incoming.command not in ("batal", "cancel"):
            steps.leave(ctx)  # a command leaves a flow (a registration is kept for a day)
        command = COMMAND_HANDLERS.get(incoming.command)
        await (command or help.unknown_command)(ctx)
        return
    if incoming.payload is None and not _typing_step(found):
        if await _typed_as_choice(ctx):
            return
        incoming = ctx.incoming
        if paging.is_page_turn(incoming.payload):
            paging.show_page(ctx)
            return
    if incoming.payload is not None:
        if len(incoming.payload.encode()) > MAX_PAYLOAD_BYTES or _HUGE_NUMBER.search(
            incoming.payload
        ):
            expired(ctx)  # not one of ours (WhatsApp ids may be 256 bytes; ours are <= 64)
            return
        if found is not None and not steps.belongs(found[0], incoming.payload):
            steps.leave(ctx)  # another screen's button
        prefix, _, arg = incoming.payload.partition(":")
        handler = PAYLOADS.get(prefix)
        if handler is None:
            expired(ctx)
            return
        await handler(ctx, arg)
        return
    if found is not None:
        _, waiting = found
        if waiting is None or not steps.fresh(ctx):
            steps.leave(ctx)  # left long ago: what is typed now is a new question
        elif waiting.typed is not None:
            await waiting.typed(ctx)
            return
        else:
            await steps.reask(ctx, waiting)
            return
    # A check-in code typed alone (at the venue) is tried before the free-text answers.
    if await attendance.try_code(ctx):
        return
    await freetext.answer(ctx)
