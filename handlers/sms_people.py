"""Who gets SMS, asked in the chat: a resident adds their own number (verified with a code sent
to it by SMS), and a kader gives the number of a neighbour they registered, recording that the
neighbour agreed by word of mouth. The neighbour then checks in from that number with
`HADIR <kode>` though they have no profile of their own.

Two handlers/steps.py flows; an answer that does not fit asks the same question again:

```mermaid
stateDiagram-v2
    [*] --> phone: /nomorsms (flow smsnum)
    phone --> code: a mobile number (a code is sent by SMS)
    code --> [*]: the code -> verified
    phone --> phone: not a mobile number (asked again)
    code --> code: wrong code (asked again, 5 tries)
    code --> phone: expired / too many tries
```

```mermaid
stateDiagram-v2
    [*] --> phone: smsn:<registration> "Nomor SMS untuk <nama>" (flow smsn, NeighbourDraft)
    phone --> consent: a mobile number
    consent --> [*]: smsc:y (saved) | smsc:n (not saved)
    phone --> phone: not a mobile number (asked again)
    consent --> consent: anything else (hint, asked again, the number kept)
```

/batal leaves from every step.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from handlers import steps
from handlers.common import clip, expired, main_menu
from handlers.phone import indonesian_mobile, shown
from handlers.types import Choice, Context
from storage.errors import NotFound
from storage.outbox import PRIORITY_PERSONAL, OutboxMessage
from storage.registrations import CheckInClosed, EventCancelled, Registration, WrongCode
from storage.sms import CHANNEL, CodeRefused

FLOW_OWN = "smsnum"
FLOW_NEIGHBOUR = "smsn"
CODE_MINUTES = 30


@dataclass
class NeighbourDraft:
    registration_id: int
    name: str = "-"
    phone: str | None = None


def _leave(ctx: Context) -> None:
    steps.end(ctx)


def _cancel_choice(ctx: Context) -> Choice:
    return ctx.choice("reg.cancel_flow", "batal")


# --- a resident's own number ----------------------------------------------------------------


async def own_command(ctx: Context) -> None:
    """/nomorsms: add, change or remove the number SMS reminders go to."""
    if not ctx.settings.sms:
        ctx.say(ctx.t("sms.number.disabled"), ctx.choice("common.menu", "menu"))
        return
    if ctx.resident is None or not ctx.resident.has_consent:
        ctx.say(
            ctx.t("sms.number.consent_needed"),
            ctx.choice("reg.privacy", "privacy"),
            ctx.choice("common.menu", "menu"),
        )
        return
    steps.start(ctx, OWN, "phone")
    current = await ctx.storage.sms.number_of(resident_id=ctx.resident.id)
    if current is None:
        ctx.say(ctx.t("sms.number.ask"), _cancel_choice(ctx))
    else:
        ctx.say(
            ctx.t("sms.number.current", phone=shown(current)),
            ctx.choice("sms.number.remove", "smsx"),
            _cancel_choice(ctx),
        )


async def own_typed(ctx: Context) -> None:
    resident = ctx.resident
    if resident is None or not resident.has_consent:
        _leave(ctx)
        expired(ctx)
        return
    text = ctx.incoming.text.strip()
    if ctx.session.step == "phone":
        try:
            phone = indonesian_mobile(text)
        except ValueError:
            ctx.say(ctx.t("sms.number.bad_number", text=clip(text, 30)), _cancel_choice(ctx))
            return
        code = f"{secrets.randbelow(10**6):06d}"
        await ctx.storage.sms.start_verification(
            resident_id=resident.id,
            phone=phone,
            code=code,
            expires_at=ctx.now + timedelta(minutes=CODE_MINUTES),
        )
        await ctx.storage.outbox.add(
            OutboxMessage(
                dedupe_key=f"sms_code:{resident.id}:{secrets.token_hex(6)}",
                kind="sms_code",
                channel=CHANNEL,
                recipient=phone,
                text="",
                resident_id=resident.id,
                language=ctx.language,
                params={"code": code, "sms": "self"},
                priority=PRIORITY_PERSONAL + 5,
            ),
            now=ctx.now,
        )
        steps.goto(ctx, "code")
        ctx.say(ctx.t("sms.number.sent", phone=shown(phone)), _cancel_choice(ctx))
        return
    try:
        phone = await ctx.storage.sms.verify(resident_id=resident.id, code=text, now=ctx.now)
    except CodeRefused as refused:
        if refused.reason == "wrong" and refused.tries_left > 0:
            ctx.say(ctx.t("sms.number.wrong", tries=refused.tries_left), _cancel_choice(ctx))
        else:
            steps.goto(ctx, "phone")
            ctx.say(ctx.t("sms.number.expired"), _cancel_choice(ctx))
        return
    _leave(ctx)
    ctx.say(ctx.t("sms.number.verified", phone=shown(phone)), ctx.choice("common.menu", "menu"))


async def remove(ctx: Context, arg: str) -> None:
    if ctx.resident is None:
        expired(ctx)
        return
    await ctx.storage.sms.remove_number(resident_id=ctx.resident.id, now=ctx.now)
    _leave(ctx)
    ctx.say(ctx.t("sms.number.removed"), ctx.choice("common.menu", "menu"))


# --- a neighbour's number, from the kader's confirmation ------------------------------------


def neighbour_choices(ctx: Context, registration: Registration) -> list[Choice]:
    """The offer under a proxy registration's confirmation, when SMS is on."""
    if not ctx.settings.sms or not registration.is_proxy:
        return []
    name = clip(registration.name or "-", 16)
    return [Choice(ctx.t("sms.neighbour.offer", name=name), f"smsn:{registration.id}")]


async def neighbour_start(ctx: Context, arg: str) -> None:
    registration = await _proxy_of(ctx, arg)
    if registration is None:
        return
    name = registration.name or "-"
    steps.start(ctx, NEIGHBOUR, "phone", NeighbourDraft(registration.id, name))
    ctx.say(ctx.t("sms.neighbour.ask", name=name), _cancel_choice(ctx))


def _neighbour_draft(ctx: Context) -> NeighbourDraft | None:
    return steps.load_draft(ctx, NEIGHBOUR, NeighbourDraft)


async def neighbour_typed(ctx: Context) -> None:
    draft = _neighbour_draft(ctx)
    if draft is None:
        _leave(ctx)
        expired(ctx)
        return
    text = ctx.incoming.text.strip()
    try:
        phone = indonesian_mobile(text)
    except ValueError:
        ctx.say(ctx.t("sms.number.bad_number", text=clip(text, 30)), _cancel_choice(ctx))
        return
    draft.phone = phone
    steps.keep(ctx, draft)
    steps.goto(ctx, "consent")
    _ask_consent(ctx, draft)


def _ask_consent(ctx: Context, draft: NeighbourDraft) -> None:
    name, phone = draft.name or "-", draft.phone or ""
    ctx.say(
        ctx.t("sms.neighbour.consent", name=name, phone=shown(phone)),
        Choice(ctx.t("sms.neighbour.agreed", name=clip(name, 16)), "smsc:y"),
        ctx.choice("sms.neighbour.not_agreed", "smsc:n"),
    )


async def neighbour_consent(ctx: Context, arg: str) -> None:
    draft = _neighbour_draft(ctx)
    if ctx.resident is None or draft is None or draft.phone is None:
        expired(ctx)
        return
    _leave(ctx)
    name = draft.name or "-"
    if arg != "y":
        ctx.say(ctx.t("sms.neighbour.not_saved", name=name), ctx.choice("reg.my_events", "my"))
        return
    try:
        name = await ctx.storage.sms.set_neighbour_number(
            registration_id=draft.registration_id,
            resident_id=ctx.resident.id,
            phone=draft.phone,
            now=ctx.now,
        )
    except NotFound:
        expired(ctx)
        return
    ctx.say(
        ctx.t("sms.neighbour.saved", name=name, phone=shown(draft.phone)),
        ctx.choice("reg.my_events", "my"),
        ctx.choice("common.menu", "menu"),
    )


async def _proxy_of(ctx: Context, arg: str) -> Registration | None:
    if not ctx.settings.sms or ctx.resident is None or not arg.isdigit():
        expired(ctx)
        return None
    try:
        registration = await ctx.storage.registrations.get(registration_id=int(arg))
    except NotFound:
        expired(ctx)
        return None
    if (
        registration.resident_id != ctx.resident.id
        or not registration.is_proxy
        or registration.status not in ("confirmed", "waitlisted")
    ):
        expired(ctx)
        return None
    return registration


# --- the neighbour checks in from that number -----------------------------------------------


async def check_in_neighbour(ctx: Context, code: str) -> bool:
    """`HADIR <kode>` from a number a kader gave for a neighbour: mark that registration
    present. False when this number has no such registration (the usual check-in goes on)."""
    phone = ctx.incoming.user_id
    if not phone.startswith("+") or not phone[1:].isdigit():
        return False
    try:
        result = await ctx.storage.sms.check_in_by_phone(phone=phone, code=code, now=ctx.now)
    except WrongCode:
        return False
    except CheckInClosed as exc:
        ctx.say(
            ctx.t(
                "reg.checkin_closed", opens=ctx.when(exc.opens_at), closes=ctx.when(exc.closes_at)
            )
        )
        return True
    except EventCancelled:
        ctx.say(ctx.t("reg.event_cancelled"))
        return True
    key = "sms.checkin_neighbour_already" if result.already else "sms.checkin_neighbour"
    ctx.say(ctx.t(key, name=result.name, title=result.event_title))
    return True


# --- keywords typed by SMS (bot/channels/sms.py maps them to these commands) ----------------


async def register_by_number(ctx: Context) -> None:
    """DAFTAR <nomor acara>: the event's registration, as its "Daftar" button starts it."""
    from handlers import registration  # registration imports this module for its offer

    number = ctx.incoming.args.strip().lstrip("#")
    if not number.isdigit():
        ctx.say(ctx.t("sms.register_how"), ctx.choice("menu.events", "evs:h:*:30:0"))
        return
    await registration.start_self(ctx, number)


async def cancel_word(ctx: Context) -> None:
    """BATAL: leaves the step someone is in; otherwise their registrations, to cancel one."""
    from handlers import registration

    if ctx.session.flow is not None:
        _leave(ctx)
        main_menu(ctx, "common.cancelled")
        return
    await registration.my_events(ctx)


async def keywords_help(ctx: Context) -> None:
    ctx.say(ctx.t("sms.keywords"))


# Commands of this module, kept out of Telegram's command menu: the keywords come by SMS.
COMMANDS = {
    "nomorsms": own_command,
    "smsnumber": own_command,
    "daftar": register_by_number,
    "register": register_by_number,
    "bataldaftar": cancel_word,
    "smsbantuan": keywords_help,
}
PAYLOADS = {"smsx": remove, "smsn": neighbour_start, "smsc": neighbour_consent}


async def _own_again(ctx: Context) -> None:
    key = "sms.number.ask" if ctx.session.step == "phone" else "sms_steps.code_again"
    ctx.say(ctx.t(key), _cancel_choice(ctx))


async def _neighbour_again(ctx: Context) -> None:
    draft = _neighbour_draft(ctx)
    if draft is None:
        expired(ctx)
    elif ctx.session.step == "consent" and draft.phone is not None:
        _ask_consent(ctx, draft)
    else:
        ctx.say(ctx.t("sms.neighbour.ask", name=draft.name), _cancel_choice(ctx))


OWN = steps.register(
    steps.Flow(
        FLOW_OWN,
        steps={
            "phone": steps.Step(steps.Accepts.TEXT, ask=_own_again, typed=own_typed),
            "code": steps.Step(steps.Accepts.CODE, ask=_own_again, typed=own_typed),
        },
        payloads=frozenset({"smsx"}),
    )
)
NEIGHBOUR = steps.register(
    steps.Flow(
        FLOW_NEIGHBOUR,
        steps={
            "phone": steps.Step(steps.Accepts.TEXT, ask=_neighbour_again, typed=neighbour_typed),
            "consent": steps.Step(steps.Accepts.CHOICE, ask=_neighbour_again),
        },
        payloads=frozenset({"smsc"}),
    )
)
