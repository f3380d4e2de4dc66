"""Registering for an event (for oneself or someone without a phone), "Acara saya", cancelling,
and the calendar file.

States (flow "reg" in the sessions table; the partial answers live in `state["draft"]`, so a
restart mid-way resumes where the person was):

    ev:<id> ─Daftar (reg:<id>)─────────┐         ┌─ Daftarkan orang lain (regp:<id>)
                                       ▼         ▼
       no consent ──> "agree in /privasi"     name (typed; prefilled for oneself)
                                                 │
                       gender ─> age_band ─> village (buttons + Lewati; only the questions
                                                 │     the event asks and not remembered)
                                                 ▼
                                    confirm (summary; Ubah nama / Ubah jawaban)
                                                 │ reg!:<id>
                                                 ▼
             confirmed | waitlisted | already | closed | cancelled | full | proxy limit

/batal (or the ✖ button, payload `batal`) leaves from every step.
"""

from __future__ import annotations

from typing import Any

from handlers import sms_people
from handlers.common import clip, expired, main_menu, typed_choice
from handlers.filenames import ics_filename
from handlers.ics import event_ics
from handlers.types import Choice, Context, Document, Reply
from storage.errors import ConsentRequired, NotFound
from storage.models import Event
from storage.registrations import (
    AGE_BANDS,
    GENDERS,
    MAX_NAME_CHARS,
    MAX_VILLAGE_CHARS,
    AlreadyCancelled,
    AlreadyRegistered,
    Answers,
    CancelClosed,
    EventCancelled,
    EventFull,
    ProxyLimitReached,
    Registration,
    RegistrationClosed,
    clean_name,
)

FLOW = "reg"
_OPTIONS = {"gender": GENDERS, "age_band": AGE_BANDS}
_SKIP_WORDS = {"lewati", "skip", "-"}
# A long list of registrations stays one readable message with a button per item.
_MY_LIMIT = 15


def event_choices(ctx: Context, event: Event) -> list[Choice]:
    """The buttons an event's details offer while it takes registrations."""
    if _refusal(ctx, event) is not None:
        return []
    return [
        ctx.choice("reg.register", f"reg:{event.id}"),
        ctx.choice("reg.register_other", f"regp:{event.id}"),
    ]


# --- starting -------------------------------------------------------------------------------


async def start_self(ctx: Context, arg: str) -> None:
    await _start(ctx, arg, proxy=False)


async def start_proxy(ctx: Context, arg: str) -> None:
    await _start(ctx, arg, proxy=True)


async def _start(ctx: Context, arg: str, *, proxy: bool) -> None:
    try:
        event = await ctx.storage.events.get(event_id=int(arg))
    except (ValueError, NotFound):
        expired(ctx)
        return
    if event.status == "draft":
        expired(ctx)
        return
    if ctx.resident is None or not ctx.resident.has_consent:
        _consent_needed(ctx, "reg.consent_needed")
        return
    refusal = _refusal(ctx, event)
    if refusal is not None:
        _end(ctx, refusal)
        return
    if not proxy:
        mine = await ctx.storage.registrations.for_resident(
            resident_id=ctx.resident.id, event_id=event.id
        )
        own = [r for r in mine if not r.is_proxy]
        if own:
            _leave_flow(ctx)
            _already(ctx, own[0])
            return
    draft: dict[str, Any] = {"event": event.id, "proxy": proxy, "name": None}
    pending = list(event.questions)
    if not proxy:
        draft["name"] = ctx.resident.name
        remembered = await ctx.storage.registrations.remembered(resident_id=ctx.resident.id)
        if remembered is not None:
            for question in list(pending):
                value = getattr(remembered, question)
                if value is not None:  # '' means skipped last time: not asked again either
                    draft[question] = value or None
                    pending.remove(question)
    draft["pending"] = pending
    ctx.session.state.update(flow=FLOW, draft=draft)
    if draft["name"] is None:
        _ask_name(ctx, draft)
    else:
        await _next(ctx, draft)


def _refusal(ctx: Context, event: Event) -> str | None:
    """Why this event takes no registration now, before anyone answers questions for nothing.
    The repository checks again when the seat is taken; this is only the early answer."""
    if event.status == "cancelled":
        return ctx.t("reg.event_cancelled")
    if event.status != "open" or ctx.now >= event.starts_at:
        return ctx.t("reg.closed")
    if event.registration_opens_at is not None and ctx.now < event.registration_opens_at:
        return ctx.t("reg.not_yet", when=ctx.when(event.registration_opens_at))
    if event.registration_closes_at is not None and ctx.now >= event.registration_closes_at:
        return ctx.t("reg.closed")
    return None


async def stored_data(ctx: Context, resident_id: int) -> str:
    """The registration part of /datasaya: what is kept and how to see or remove it."""
    upcoming = await ctx.storage.registrations.upcoming(resident_id=resident_id, now=ctx.now)
    remembered = await ctx.storage.registrations.remembered(resident_id=resident_id)
    draft: dict[str, Any] = {}
    if remembered is not None:
        draft = {q: getattr(remembered, q) for q in ("gender", "age_band", "village")}
    return "\n" + ctx.t(
        "reg.stored",
        count=len(upcoming),
        gender=_answer_label(ctx, draft, "gender"),
        age_band=_answer_label(ctx, draft, "age_band"),
        village=_answer_label(ctx, draft, "village"),
    )


def _ask_name(ctx: Context, draft: dict[str, Any]) -> None:
    ctx.session.state["step"] = "name"
    cancel = ctx.choice("reg.cancel_flow", "batal")
    if draft["proxy"]:
        ctx.say(ctx.t("reg.ask_proxy_name"), cancel)
    elif draft.get("name"):
        ctx.say(
            ctx.t("reg.ask_name_prefilled", name=draft["name"]),
            ctx.choice("reg.use_name", "regu"),
            cancel,
        )
    else:
        ctx.say(ctx.t("reg.ask_name"), cancel)


async def _next(ctx: Context, draft: dict[str, Any]) -> None:
    """Ask the next pending question, or show the summary once none is left."""
    pending: list[str] = draft["pending"]
    if pending:
        _ask_question(ctx, draft, pending[0])
        return
    ctx.session.state["step"] = "confirm"
    try:
        event = await ctx.storage.events.get(event_id=draft["event"])
    except NotFound:
        expired(ctx)
        return
    key = "reg.summary_proxy" if draft["proxy"] else "reg.summary"
    lines = [ctx.t(key, name=draft["name"], **_what_where_when(ctx, event))]
    for question in event.questions:
        lines.append(ctx.t(f"reg.summary_{question}", value=_answer_label(ctx, draft, question)))
    choices = [
        ctx.choice("reg.confirm", f"reg!:{event.id}"),
        ctx.choice("reg.change_name", "regn"),
    ]
    if event.questions:
        choices.append(ctx.choice("reg.change_answers", "rega"))
    choices.append(ctx.choice("reg.cancel_flow", "batal"))
    ctx.say("\n".join(lines), *choices)


def _answer_label(ctx: Context, draft: dict[str, Any], question: str) -> str:
    value = draft.get(question)
    if not value:
        return ctx.t("reg.skipped")
    if question == "gender":
        return ctx.t(f"reg.gender.{value}")
    if question == "age_band":
        return ctx.t(f"reg.age.{value}")
    return str(value)


def _ask_question(ctx: Context, draft: dict[str, Any], question: str) -> None:
    ctx.session.state["step"] = question
    who = ctx.t("reg.who_other", name=draft["name"]) if draft["proxy"] else ctx.t("reg.who_self")
    text = ctx.t(f"reg.ask_{question}", who=who) + "\n" + ctx.t("reg.optional_note")
    choices: list[Choice] = []
    if question == "gender":
        choices = [ctx.choice(f"reg.gender.{g}", f"rq:{g}") for g in GENDERS]
    elif question == "age_band":
        choices = [ctx.choice(f"reg.age.{a}", f"rq:{a}") for a in AGE_BANDS]
    elif draft.get("last_village"):
        choices = [
            Choice(ctx.t("reg.use_village", village=clip(draft["last_village"], 40)), "rq:=")
        ]
    choices.append(ctx.choice("reg.skip", "rq:-"))
    choices.append(ctx.choice("reg.cancel_flow", "batal"))
    ctx.say(text, *choices)


# --- the steps --------------------------------------------------------------------------------


def _draft(ctx: Context) -> dict[str, Any] | None:
    draft = ctx.session.state.get("draft")
    if ctx.session.flow != FLOW or not isinstance(draft, dict) or ctx.resident is None:
        return None
    return draft


async def _typed_as_tap(ctx: Context) -> bool:
    """In a typing step the dispatcher leaves text alone; on channels without buttons (terminal,
    WhatsApp lists) people still type a shown choice's number or words, so honour those here."""
    payload = typed_choice(ctx.incoming.text, ctx.session.state.get("choices"))
    if payload is None:
        return False
    prefix, _, arg = payload.partition(":")
    if prefix == "batal":
        _leave_flow(ctx)
        main_menu(ctx, "common.cancelled")
    elif prefix == "regu":
        await use_name(ctx, arg)
    elif prefix == "rq":
        await answer(ctx, arg)
    else:
        return False
    return True


async def typed_name(ctx: Context) -> None:
    draft = _draft(ctx)
    if draft is None:
        expired(ctx)
        return
    if await _typed_as_tap(ctx):
        return
    name = clean_name(ctx.incoming.text, limit=MAX_NAME_CHARS + 1)
    if not name:
        ctx.say(ctx.t("reg.name_empty"), ctx.choice("reg.cancel_flow", "batal"))
        return
    if len(name) > MAX_NAME_CHARS:
        ctx.say(
            ctx.t("reg.name_too_long", limit=MAX_NAME_CHARS),
            ctx.choice("reg.cancel_flow", "batal"),
        )
        return
    draft["name"] = name
    await _next(ctx, draft)


async def use_name(ctx: Context, arg: str) -> None:
    draft = _draft(ctx)
    if draft is None or ctx.session.step != "name" or not draft.get("name"):
        expired(ctx)
        return
    await _next(ctx, draft)


async def change_name(ctx: Context, arg: str) -> None:
    draft = _draft(ctx)
    if draft is None:
        expired(ctx)
        return
    _ask_name(ctx, draft)


async def change_answers(ctx: Context, arg: str) -> None:
    draft = _draft(ctx)
    if draft is None:
        expired(ctx)
        return
    try:
        event = await ctx.storage.events.get(event_id=draft["event"])
    except NotFound:
        expired(ctx)
        return
    if draft.get("village"):
        draft["last_village"] = draft["village"]
    draft["pending"] = list(event.questions)
    await _next(ctx, draft)


async def answer(ctx: Context, arg: str) -> None:
    """A tapped answer to the question on screen: a value, `-` (skip) or `=` (as last time)."""
    draft = _draft(ctx)
    step = ctx.session.step
    pending = draft["pending"] if draft is not None else []
    if draft is None or not pending or step != pending[0]:
        expired(ctx)
        return
    question: str = pending[0]
    if arg == "-":
        draft[question] = None
    elif question == "village" and arg == "=" and draft.get("last_village"):
        draft[question] = draft["last_village"]
    elif arg in _OPTIONS.get(question, ()):
        draft[question] = arg
    else:
        expired(ctx)
        return
    pending.pop(0)
    await _next(ctx, draft)


async def typed_village(ctx: Context) -> None:
    draft = _draft(ctx)
    if draft is None or not draft["pending"] or draft["pending"][0] != "village":
        expired(ctx)
        return
    if await _typed_as_tap(ctx):
        return
    text = clean_name(ctx.incoming.text, limit=MAX_VILLAGE_CHARS + 1)
    if len(text) > MAX_VILLAGE_CHARS:
        ctx.say(
            ctx.t("reg.village_too_long", limit=MAX_VILLAGE_CHARS),
            ctx.choice("reg.skip", "rq:-"),
            ctx.choice("reg.cancel_flow", "batal"),
        )
        return
    draft["village"] = None if text.casefold() in _SKIP_WORDS else text or None
    draft["pending"].pop(0)
    await _next(ctx, draft)


async def confirm(ctx: Context, arg: str) -> None:
    """reg!:<event id>: take the seat. A stale or repeated tap shows the existing registration."""
    draft = _draft(ctx)
    if (
        draft is None
        or ctx.session.step != "confirm"
        or str(draft.get("event")) != arg
        or not draft.get("name")
    ):
        await _stale_confirm(ctx, arg)
        return
    assert ctx.resident is not None
    _leave_flow(ctx)
    try:
        registration = await ctx.storage.registrations.register(
            event_id=int(draft["event"]),
            resident_id=ctx.resident.id,
            name=draft["name"],
            answers=Answers(
                gender=draft.get("gender"),
                age_band=draft.get("age_band"),
                village=draft.get("village"),
            ),
            proxy=bool(draft["proxy"]),
            proxy_limit=ctx.settings.proxy_limit,
            now=ctx.now,
        )
    except AlreadyRegistered as exc:
        _already(ctx, exc.existing)
        return
    except RegistrationClosed as exc:
        if exc.opens_at is not None:
            _end(ctx, ctx.t("reg.not_yet", when=ctx.when(exc.opens_at)))
        else:
            _end(ctx, ctx.t("reg.closed"))
        return
    except EventCancelled:
        _end(ctx, ctx.t("reg.event_cancelled"))
        return
    except EventFull:
        _end(ctx, ctx.t("reg.full"))
        return
    except ProxyLimitReached as exc:
        _end(ctx, ctx.t("reg.proxy_limit", limit=exc.limit))
        return
    except ConsentRequired:
        _consent_needed(ctx, "reg.consent_needed")
        return
    except NotFound:
        expired(ctx)
        return
    if not registration.is_proxy:
        ctx.resident = await ctx.storage.residents.get(resident_id=ctx.resident.id)
    await _outcome(ctx, registration)


async def _stale_confirm(ctx: Context, arg: str) -> None:
    if ctx.resident is not None and arg.isdigit():
        mine = await ctx.storage.registrations.for_resident(
            resident_id=ctx.resident.id, event_id=int(arg)
        )
        own = [r for r in mine if not r.is_proxy]
        if own:
            _already(ctx, own[0])
            return
    expired(ctx)


async def _outcome(ctx: Context, registration: Registration) -> None:
    event = await ctx.storage.events.get(event_id=registration.event_id)
    values = _what_where_when(ctx, event)
    if registration.status == "waitlisted":
        text = ctx.t(
            "reg.waitlisted", name=registration.name, position=registration.position, **values
        )
        ctx.say(
            text,
            *sms_people.neighbour_choices(ctx, registration),
            ctx.choice("reg.cancel_registration", f"rc?:{registration.id}"),
            ctx.choice("reg.my_events", "my"),
            ctx.choice("common.menu", "menu"),
        )
        return
    key = "reg.confirmed_proxy" if registration.is_proxy else "reg.confirmed"
    ctx.say(
        ctx.t(key, name=registration.name, **values),
        *sms_people.neighbour_choices(ctx, registration),
        ctx.choice("reg.add_calendar", f"ics:{registration.id}"),
        ctx.choice("reg.cancel_registration", f"rc?:{registration.id}"),
        ctx.choice("reg.my_events", "my"),
        ctx.choice("common.menu", "menu"),
    )


def _already(ctx: Context, registration: Registration) -> None:
    key = "reg.already_proxy" if registration.is_proxy else "reg.already"
    choices = []
    if registration.status == "confirmed":
        choices.append(ctx.choice("reg.add_calendar", f"ics:{registration.id}"))
    choices += [
        ctx.choice("reg.cancel_registration", f"rc?:{registration.id}"),
        ctx.choice("reg.my_events", "my"),
        ctx.choice("common.menu", "menu"),
    ]
    ctx.say(
        ctx.t(
            key,
            title=registration.event_title,
            when=ctx.when(registration.event_starts_at),
            name=registration.name or "-",
            status=status_text(ctx, registration),
        ),
        *choices,
    )


def status_text(ctx: Context, registration: Registration) -> str:
    if registration.event_status == "cancelled":
        return ctx.t("reg.status_event_cancelled")
    if registration.status == "waitlisted":
        return ctx.t("reg.status_waitlisted", position=registration.position)
    return ctx.t("reg.status_confirmed")


def _what_where_when(ctx: Context, event: Event) -> dict[str, str]:
    return {
        "title": event.title,
        "when": ctx.t("events.when", when=ctx.when(event.starts_at)),
        "where": ctx.t(
            "events.where", library=event.library_name, place=event.place or event.library_name
        ),
    }


def _consent_needed(ctx: Context, key: str) -> None:
    _leave_flow(ctx)
    ctx.say(ctx.t(key), ctx.choice("reg.privacy", "privacy"), ctx.choice("common.menu", "menu"))


def _end(ctx: Context, text: str) -> None:
    _leave_flow(ctx)
    ctx.say(text, ctx.choice("reg.my_events", "my"), ctx.choice("common.menu", "menu"))


def _leave_flow(ctx: Context) -> None:
    if ctx.session.flow == FLOW:
        ctx.session.state.pop("flow", None)
        ctx.session.state.pop("step", None)
        ctx.session.state.pop("draft", None)


# --- my events, cancelling, calendar --------------------------------------------------------


async def my_events(ctx: Context) -> None:
    """/acarasaya: upcoming seats and waitlist places, own and proxy, each with a cancel button."""
    if ctx.resident is None or not ctx.resident.has_consent:
        ctx.say(
            ctx.t("reg.my_none"),
            ctx.choice("reg.browse_events", "evs:h:*:30:0"),
            ctx.choice("common.menu", "menu"),
        )
        return
    items = await ctx.storage.registrations.upcoming(resident_id=ctx.resident.id, now=ctx.now)
    if not items:
        ctx.say(
            ctx.t("reg.my_none"),
            ctx.choice("reg.browse_events", "evs:h:*:30:0"),
            ctx.choice("common.menu", "menu"),
        )
        return
    lines = [ctx.t("reg.my_title")]
    choices: list[Choice] = []
    for number, item in enumerate(items[:_MY_LIMIT], start=1):
        lines.append(
            ctx.t(
                "reg.my_item",
                number=number,
                title=item.event_title,
                when=ctx.when(item.event_starts_at),
                name=item.name or "-",
                status=status_text(ctx, item),
            )
        )
        if item.event_status != "cancelled" and ctx.now < item.event_starts_at:
            choices.append(
                Choice(
                    clip(ctx.t("reg.cancel_item", number=number, title=item.event_title), 60),
                    f"rc?:{item.id}",
                )
            )
    if len(items) > _MY_LIMIT:
        lines.append(ctx.t("reg.my_more", count=len(items) - _MY_LIMIT))
    choices.append(ctx.choice("common.menu", "menu"))
    ctx.say("\n\n".join(lines), *choices)


async def _mine(ctx: Context, arg: str) -> Registration | None:
    """The registration a payload names, if it is this resident's, not cancelled, and its event
    still takes place; else the expired (or "already cancelled", "event cancelled") answer."""
    if ctx.resident is None or not arg.isdigit():
        expired(ctx)
        return None
    try:
        registration = await ctx.storage.registrations.get(registration_id=int(arg))
    except NotFound:
        expired(ctx)
        return None
    if registration.resident_id != ctx.resident.id:
        expired(ctx)
        return None
    if registration.event_status == "cancelled":
        # An old button (a promotion, a confirmation): the library's cancellation keeps the
        # registrations as they were, so nothing is cancelled, nor a calendar file sent, now.
        _end(ctx, ctx.t("reg.event_cancelled"))
        return None
    if registration.status == "cancelled":
        _end(ctx, ctx.t("reg.already_cancelled"))
        return None
    return registration


async def ask_cancel(ctx: Context, arg: str) -> None:
    registration = await _mine(ctx, arg)
    if registration is None:
        return
    ctx.say(
        ctx.t(
            "reg.ask_cancel",
            name=registration.name or "-",
            title=registration.event_title,
            when=ctx.when(registration.event_starts_at),
        ),
        ctx.choice("reg.cancel_yes", f"rc:{registration.id}"),
        ctx.choice("reg.cancel_no", "my"),
    )


async def cancel(ctx: Context, arg: str) -> None:
    registration = await _mine(ctx, arg)
    if registration is None:
        return
    assert ctx.resident is not None
    try:
        result = await ctx.storage.registrations.cancel(
            registration_id=registration.id, resident_id=ctx.resident.id, now=ctx.now
        )
    except AlreadyCancelled:  # cancelled meanwhile, from another device
        _end(ctx, ctx.t("reg.already_cancelled"))
        return
    except CancelClosed:
        _end(ctx, ctx.t("reg.cancel_closed"))
        return
    except NotFound:
        expired(ctx)
        return
    text = ctx.t("reg.cancelled", name=registration.name or "-", title=registration.event_title)
    if result.promoted is not None:
        text += "\n" + ctx.t("reg.seat_passed_on")
    _end(ctx, text)


async def calendar(ctx: Context, arg: str) -> None:
    """ics:<registration id>: the event as an .ics document."""
    registration = await _mine(ctx, arg)
    if registration is None:
        return
    event = await ctx.storage.events.get(event_id=registration.event_id)
    content = event_ics(
        uid=f"pustaka-{registration.id}@pustaka.ntt",
        title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        location=f"{event.place}, {event.library_name}" if event.place else event.library_name,
        description=event.description,
        created_at=ctx.now,
    )
    ctx.replies.append(
        Reply(
            text=ctx.t("reg.ics_caption", title=event.title),
            document=Document(
                filename=ics_filename(event.title, event.starts_at, ctx.settings.timezone),
                content=content,
                mime_type="text/calendar",
            ),
        )
    )
