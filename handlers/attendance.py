"""Checking in at the venue with the event's short code: `/hadir KODE`, the code typed alone, or
`/hadir` and then the code. People this resident registered are marked from the same screen.

    /hadir ──> code (typed) ──> present | walk-in | already | outside window
                     └─ wrong code: ask again
"""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers import sms_people, steps
from handlers.common import expired
from handlers.steps import Accepts, Step
from handlers.types import Choice, Context
from storage.errors import ConsentRequired, NotFound
from storage.registrations import (
    CODE_LENGTH,
    CheckInClosed,
    EventCancelled,
    NotRegistered,
    Registration,
    WrongCode,
    looks_like_code,
    normalise_code,
)

# Codes are six characters from 31: guessing one takes hundreds of millions of tries, as long
# as nobody may try quickly. After this many wrong codes in the window a person waits.
MAX_WRONG_CODES = 5
WRONG_CODE_WINDOW = timedelta(minutes=10)
_MISSES = "checkin_misses"  # session state: times of recent wrong codes (ISO, UTC)


async def command(ctx: Context) -> None:
    code = ctx.incoming.args.strip()
    if not code:
        steps.start(ctx, FLOW, "code")
        await _ask_code(ctx)
        return
    await _check_in(ctx, code, quiet=False)


async def _ask_code(ctx: Context) -> None:
    ctx.say(ctx.t("reg.ask_code", length=CODE_LENGTH), ctx.choice("reg.cancel_flow", "batal"))


async def typed_code(ctx: Context) -> None:
    await _check_in(ctx, ctx.incoming.text, quiet=False)


async def code_said(ctx: Context, code: str) -> bool:
    """A code named in free text ("kode FRJ6D3", "hadir FRJ6D3"): check in with it."""
    return await _check_in(ctx, code, quiet=False)


async def try_code(ctx: Context) -> bool:
    """Free text that is an event's code checks in; anything else is left to the free-text
    answers (False)."""
    text = ctx.incoming.text.strip()
    if not looks_like_code(text):
        return False
    if ctx.has_profile and _locked_until(ctx) is not None:
        return False  # guessing through free text is throttled like /hadir
    try:
        # A read first: ordinary words ("MENU", "ENDE") must not take the write lock.
        await ctx.storage.registrations.event_by_code(code=text)
    except WrongCode:
        if ctx.has_profile and len(normalise_code(text)) == CODE_LENGTH:
            _missed(ctx)  # a full-length code that is not one counts as a guess
        return False
    return await _check_in(ctx, text, quiet=True)


def _recent_misses(ctx: Context) -> list[datetime]:
    stored = ctx.session.state.get(_MISSES)
    recent = []
    for stamp in stored if isinstance(stored, list) else []:
        try:
            moment = datetime.fromisoformat(str(stamp))
        except ValueError:
            continue
        if moment > ctx.now - WRONG_CODE_WINDOW:
            recent.append(moment)
    return recent


def _locked_until(ctx: Context) -> datetime | None:
    misses = _recent_misses(ctx)
    if len(misses) < MAX_WRONG_CODES:
        return None
    return sorted(misses)[-MAX_WRONG_CODES] + WRONG_CODE_WINDOW


def _missed(ctx: Context) -> None:
    misses = [*_recent_misses(ctx), ctx.now][-MAX_WRONG_CODES:]
    ctx.session.state[_MISSES] = [m.isoformat() for m in misses]


async def _check_in(ctx: Context, code: str, *, quiet: bool) -> bool:
    if ctx.resident is None or not ctx.resident.has_consent:
        # Someone a kader registered, writing from the number the kader gave for them.
        if await sms_people.check_in_neighbour(ctx, code):
            _leave(ctx)
            return True
        if quiet:
            return False  # an unregistered word that happens to look like a code
        _leave(ctx)
        ctx.say(
            ctx.t("reg.consent_needed_checkin"),
            ctx.choice("reg.privacy", "privacy"),
            ctx.choice("common.menu", "menu"),
        )
        return True
    locked_until = _locked_until(ctx)
    if locked_until is not None:
        if quiet:
            return False
        _leave(ctx)
        ctx.say(
            ctx.t("checkin_guard.wait", time=ctx.when(locked_until)),
            ctx.choice("common.menu", "menu"),
        )
        return True
    try:
        result = await ctx.storage.registrations.check_in(
            resident_id=ctx.resident.id, code=code, now=ctx.now
        )
    except WrongCode:
        _missed(ctx)
        if quiet:
            return False
        # Stay in the step so the next line typed is tried as a code again.
        steps.start(ctx, FLOW, "code")
        ctx.say(
            ctx.t("reg.wrong_code", code=code.strip()[:12]),
            ctx.choice("reg.cancel_flow", "batal"),
        )
        return True
    except CheckInClosed as exc:
        _leave(ctx)
        ctx.say(
            ctx.t(
                "reg.checkin_closed", opens=ctx.when(exc.opens_at), closes=ctx.when(exc.closes_at)
            ),
            ctx.choice("reg.my_events", "my"),
            ctx.choice("common.menu", "menu"),
        )
        return True
    except EventCancelled:
        _leave(ctx)
        ctx.say(ctx.t("reg.event_cancelled"), ctx.choice("common.menu", "menu"))
        return True
    except ConsentRequired:
        _leave(ctx)
        ctx.say(ctx.t("reg.consent_needed_checkin"), ctx.choice("reg.privacy", "privacy"))
        return True
    _leave(ctx)
    if result.already:
        text = ctx.t("reg.checkin_already", title=result.event_title)
    elif result.from_waitlist:
        text = ctx.t("reg.checkin_from_waitlist", title=result.event_title)
    elif result.walk_in:
        text = ctx.t("reg.checkin_walk_in", title=result.event_title)
    else:
        text = ctx.t("reg.checkin_done", title=result.event_title)
    _with_proxies(ctx, text, result.proxies)
    return True


def _with_proxies(ctx: Context, text: str, proxies: tuple[Registration, ...]) -> None:
    waiting = [p for p in proxies if p.attended_at is None]
    choices = [
        Choice(ctx.t("reg.mark_present", name=p.name or "-")[:60], f"hdp:{p.id}") for p in waiting
    ]
    if waiting:
        text += "\n\n" + ctx.t("reg.checkin_proxies")
    choices.append(ctx.choice("common.menu", "menu"))
    ctx.say(text, *choices)


async def mark_proxy(ctx: Context, arg: str) -> None:
    """hdp:<registration id>: someone this resident registered is here."""
    if ctx.resident is None or not arg.isdigit():
        expired(ctx)
        return
    try:
        marked = await ctx.storage.registrations.mark_proxy_present(
            registration_id=int(arg), resident_id=ctx.resident.id, now=ctx.now
        )
    except (NotFound, NotRegistered):
        expired(ctx)
        return
    except CheckInClosed as exc:
        ctx.say(
            ctx.t(
                "reg.checkin_closed", opens=ctx.when(exc.opens_at), closes=ctx.when(exc.closes_at)
            ),
            ctx.choice("common.menu", "menu"),
        )
        return
    except EventCancelled:
        ctx.say(ctx.t("reg.event_cancelled"), ctx.choice("common.menu", "menu"))
        return
    others = await ctx.storage.registrations.for_resident(
        resident_id=ctx.resident.id, event_id=marked.event_id
    )
    _with_proxies(
        ctx,
        ctx.t("reg.proxy_marked", name=marked.name or "-"),
        tuple(r for r in others if r.is_proxy),
    )


def _leave(ctx: Context) -> None:
    if ctx.session.flow == FLOW.name:
        steps.end(ctx)


FLOW = steps.register(
    steps.Flow(
        "attend",
        steps={"code": Step(Accepts.CODE, ask=_ask_code, typed=typed_code)},
        payloads=frozenset({"hdp"}),
    )
)
