"""Registering for an event (for oneself or someone without a phone), "Acara saya", cancelling,
and the calendar file.

Flow "reg" (handlers/steps.py): the answers so far live in a `RegistrationDraft` in the session,
so a restart mid-way resumes where the person was; an answer that does not fit re-asks the same
question with a hint; leaving for another screen keeps the draft for a day ("Lanjutkan
pendaftaran …?" on the main menu).

```mermaid
stateDiagram-v2
    [*] --> name: reg:<event> (Daftar / Masuk daftar tunggu), regp:<event> (someone else)
    [*] --> privacy: no consent yet (privacy:<event>, back to the event after agreeing)
    name --> gender: typed name (2+ letters) or "Pakai nama ini" / "ya"
    gender --> age_band: Perempuan/cewek/P, Laki-laki/cowok/L, Lewati
    age_band --> village: a band, or an age typed ("40")
    village --> confirm: typed village, "lewati"
    confirm --> [*]: reg!:<event> ("ya", "daftar") -> confirmed | waitlisted | refused
    confirm --> name: Ubah nama
    confirm --> gender: Ubah jawaban
    name --> name: not a name (hint, asked again)
    gender --> gender: not an answer (hint, asked again)
```

Only the questions the event asks and the person has not answered before are asked. `/batal`
(or the ✖ button, payload `batal`) leaves from every step and forgets the draft.

Flow "rcx", cancelling one registration ("Batalkan pendaftaran …?"):

```mermaid
stateDiagram-v2
    [*] --> confirm: rc?:<registration> (a cancel button under "Acara saya" or a confirmation)
    confirm --> [*]: rc:<registration> ("ya", "iya", "batalkan") -> cancelled
    confirm --> [*]: my ("tidak", "sonde") -> Acara saya, nothing changed
    confirm --> confirm: anything else (hint, asked again)
```
"""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers import sms_people, steps
from handlers.common import clip, expired, main_menu
from handlers.filenames import ics_filename
from handlers.ics import event_ics
from handlers.steps import Accepts, Step
from handlers.types import Choice, Context, Document, Reply
from handlers.understand import match_choice
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

_OPTIONS = {"gender": GENDERS, "age_band": AGE_BANDS}
# What a typed age picks: the band's years, both ends included.
AGE_YEARS = {"u18": "age:0-17", "18_35": "age:18-35", "36_55": "age:36-55", "55p": "age:56-120"}
_SKIP_WORDS = {"lewati", "skip", "-", "lewat", "tidak ada", "ga ada", "gak ada"}
# A long list of registrations stays one readable message with a button per item.
_MY_LIMIT = 15
# Fewer letters than this is not a name ("a", "?", "12").
MIN_NAME_LETTERS = 2


@dataclass
class RegistrationDraft:
    event: int
    title: str = ""
    proxy: bool = False
    name: str | None = None
    # The questions still to ask, in order; the first is on the screen.
    pending: list[str] = field(default_factory=list)
    gender: str | None = None
    age_band: str | None = None
    village: str | None = None
    last_village: str | None = None  # offered as a button after "Ubah jawaban"

    def answer(self, question: str) -> str | None:
        value: str | None = getattr(self, question)
        return value


def event_choices(ctx: Context, event: Event) -> list[Choice]:
    """The buttons an event's details offer while it takes registrations; a full event's says
    it is the waiting list."""
    if _refusal(ctx, event) is not None:
        return []
    full = event.seats_left == 0
    return [
        ctx.choice("reg.join_waitlist" if full else "reg.register", f"reg:{event.id}"),
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
    steps.forget_paused(ctx)  # a new registration replaces one left half-way
    if ctx.resident is None or not ctx.resident.has_consent:
        _consent_needed(ctx, "reg.consent_needed", event.id)
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
    draft = RegistrationDraft(event=event.id, title=event.title, proxy=proxy)
    pending = list(event.questions)
    if not proxy:
        draft.name = ctx.resident.name
        remembered = await ctx.storage.registrations.remembered(resident_id=ctx.resident.id)
        if remembered is not None:
            for question in list(pending):
                value = getattr(remembered, question)
                if value is not None:  # '' means skipped last time: not asked again either
                    setattr(draft, question, value or None)
                    pending.remove(question)
    draft.pending = pending
    steps.start(ctx, FLOW, "name", draft)
    if draft.name is None:
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
    draft = RegistrationDraft(event=0)
    if remembered is not None:
        draft.gender, draft.age_band = remembered.gender, remembered.age_band
        draft.village = remembered.village
    return "\n" + ctx.t(
        "reg.stored",
        count=len(upcoming),
        gender=_answer_label(ctx, draft, "gender"),
        age_band=_answer_label(ctx, draft, "age_band"),
        village=_answer_label(ctx, draft, "village"),
    )


def _ask_name(ctx: Context, draft: RegistrationDraft, hint: str | None = None) -> None:
    steps.goto(ctx, "name")
    steps.keep(ctx, draft)
    cancel = ctx.choice("reg.cancel_flow", "batal")
    if hint is not None:
        ctx.say(hint)
    if draft.proxy:
        ctx.say(ctx.t("reg.ask_proxy_name"), cancel)
    elif draft.name:
        ctx.say(
            ctx.t("reg.ask_name_prefilled", name=draft.name),
            ctx.choice("reg.use_name", "regu", means="yes"),
            cancel,
        )
    else:
        ctx.say(ctx.t("reg.ask_name"), cancel)


async def _next(ctx: Context, draft: RegistrationDraft) -> None:
    """Ask the next pending question, or show the summary once none is left."""
    steps.keep(ctx, draft)
    if draft.pending:
        _ask_question(ctx, draft, draft.pending[0])
        return
    steps.goto(ctx, "confirm")
    try:
        event = await ctx.storage.events.get(event_id=draft.event)
    except NotFound:
        expired(ctx)
        return
    key = "reg.summary_proxy" if draft.proxy else "reg.summary"
    lines = [ctx.t(key, name=draft.name, **_what_where_when(ctx, event))]
    for question in event.questions:
        lines.append(ctx.t(f"reg.summary_{question}", value=_answer_label(ctx, draft, question)))
    if event.seats_left == 0:
        lines.append(ctx.t("reg.summary_waitlist"))
    choices = [
        ctx.choice("reg.confirm", f"reg!:{event.id}", means="yes"),
        ctx.choice("reg.change_name", "regn"),
    ]
    if event.questions:
        choices.append(ctx.choice("reg.change_answers", "rega"))
    choices.append(ctx.choice("reg.cancel_flow", "batal", means="no"))
    ctx.say("\n".join(lines), *choices)


def _answer_label(ctx: Context, draft: RegistrationDraft, question: str) -> str:
    value = draft.answer(question)
    if not value:
        return ctx.t("reg.skipped")
    if question == "gender":
        return ctx.t(f"reg.gender.{value}")
    if question == "age_band":
        return ctx.t(f"reg.age.{value}")
    return str(value)


def _ask_question(ctx: Context, draft: RegistrationDraft, question: str) -> None:
    steps.goto(ctx, question)
    who = ctx.t("reg.who_other", name=draft.name) if draft.proxy else ctx.t("reg.who_self")
    text = ctx.t(f"reg.ask_{question}", who=who) + "\n" + ctx.t("reg.optional_note")
    choices: list[Choice] = []
    if question == "gender":
        choices = [ctx.choice(f"reg.gender.{g}", f"rq:{g}", means=g) for g in GENDERS]
    elif question == "age_band":
        choices = [ctx.choice(f"reg.age.{a}", f"rq:{a}", means=AGE_YEARS[a]) for a in AGE_BANDS]
    elif draft.last_village:
        choices = [Choice(ctx.t("reg.use_village", village=clip(draft.last_village, 40)), "rq:=")]
    choices.append(ctx.choice("reg.skip", "rq:-", means="no"))
    choices.append(ctx.choice("reg.cancel_flow", "batal"))
    ctx.say(text, *choices)


# --- the steps --------------------------------------------------------------------------------


def _draft(ctx: Context) -> RegistrationDraft | None:
    if ctx.resident is None:
        return None
    return steps.load_draft(ctx, FLOW, RegistrationDraft)


async def _reask(ctx: Context) -> None:
    """The question on the screen again (after a hint, or when a paused draft is resumed)."""
    draft = _draft(ctx)
    if draft is None:
        expired(ctx)
    elif ctx.session.step == "name":
        _ask_name(ctx, draft)
    else:
        await _next(ctx, draft)


async def _typed_as_tap(ctx: Context) -> bool:
    """In a typing step typed words are the answer, unless they name a shown choice (its
    number, its words, or "ya" for "Pakai nama ini"): then they act as that tap."""
    payload = match_choice(ctx.incoming.text, ctx.session.state.get("choices")).payload
    if payload is None or (payload == "batal" and ctx.incoming.text.strip().isdigit()):
        return False  # "1" typed as a name is not the ✖ Batal button
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
    if sum(ch.isalpha() for ch in name) < MIN_NAME_LETTERS:
        _ask_name(ctx, draft, ctx.t("reg.name_short" if name else "reg.name_empty"))
        return
    if len(name) > MAX_NAME_CHARS:
        _ask_name(ctx, draft, ctx.t("reg.name_too_long", limit=MAX_NAME_CHARS))
        return
    draft.name = name
    await _next(ctx, draft)


async def use_name(ctx: Context, arg: str) -> None:
    draft = _draft(ctx)
    if draft is None or ctx.session.step != "name" or not draft.name:
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
        event = await ctx.storage.events.get(event_id=draft.event)
    except NotFound:
        expired(ctx)
        return
    if draft.village:
        draft.last_village = draft.village
    draft.pending = list(event.questions)
    await _next(ctx, draft)


async def answer(ctx: Context, arg: str) -> None:
    """A tapped answer to the question on screen: a value, `-` (skip) or `=` (as last time).
    A button of an earlier question (tapped late) asks the current one again."""
    draft = _draft(ctx)
    if draft is None or not draft.pending:
        expired(ctx)
        return
    question = draft.pending[0]
    if ctx.session.step != question:
        await _reask(ctx)
        return
    if arg == "-":
        setattr(draft, question, None)
    elif question == "village" and arg == "=" and draft.last_village:
        draft.village = draft.last_village
    elif arg in _OPTIONS.get(question, ()):
        setattr(draft, question, arg)
    else:
        await steps.reask(ctx, FLOW.steps[question])
        return
    draft.pending.pop(0)
    await _next(ctx, draft)


async def typed_village(ctx: Context) -> None:
    draft = _draft(ctx)
    if draft is None or not draft.pending or draft.pending[0] != "village":
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
    draft.village = None if text.casefold() in _SKIP_WORDS else text or None
    draft.pending.pop(0)
    await _next(ctx, draft)


async def confirm(ctx: Context, arg: str) -> None:
    """reg!:<event id>: take the seat. A stale or repeated tap shows the existing registration."""
    draft = _draft(ctx)
    if draft is None or ctx.session.step != "confirm" or str(draft.event) != arg or not draft.name:
        await _stale_confirm(ctx, arg)
        return
    assert ctx.resident is not None
    _leave_flow(ctx)
    try:
        registration = await ctx.storage.registrations.register(
            event_id=draft.event,
            resident_id=ctx.resident.id,
            name=draft.name,
            answers=Answers(gender=draft.gender, age_band=draft.age_band, village=draft.village),
            proxy=draft.proxy,
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
        _consent_needed(ctx, "reg.consent_needed", draft.event)
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
    if registration.attended_at is not None:
        return ctx.t("reg.status_attended")
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


def _consent_needed(ctx: Context, key: str, event_id: int | None = None) -> None:
    """Without consent nothing is stored; the privacy button brings the person back to the
    event once they agree."""
    _leave_flow(ctx)
    payload = "privacy" if event_id is None else f"privacy:{event_id}"
    ctx.say(ctx.t(key), ctx.choice("reg.privacy", payload), ctx.choice("common.menu", "menu"))


def _end(ctx: Context, text: str) -> None:
    _leave_flow(ctx)
    ctx.say(text, ctx.choice("reg.my_events", "my"), ctx.choice("common.menu", "menu"))


def _leave_flow(ctx: Context) -> None:
    if ctx.session.flow == FLOW.name:
        steps.end(ctx)


# --- my events, cancelling, calendar --------------------------------------------------------


async def my_events(ctx: Context) -> None:
    """/acarasaya: upcoming seats and waitlist places, own and proxy, each with a cancel button."""
    if ctx.session.flow == CANCEL_FLOW.name:
        steps.end(ctx)  # "Tidak" at "Batalkan pendaftaran …?"
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
    several = len({item.name for item in items}) > 1
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
        if (
            item.attended_at is None
            and item.event_status != "cancelled"
            and (ctx.now < item.event_starts_at)
        ):
            # A kader who registered several people sees whose seat each button frees.
            key = "reg.cancel_item_named" if several else "reg.cancel_item"
            label = ctx.t(key, number=number, title=item.event_title, name=item.name or "-")
            choices.append(Choice(clip(label, 60), f"rc?:{item.id}"))
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
    if registration.attended_at is not None and ctx.incoming.payload != f"ics:{arg}":
        _end(ctx, ctx.t("reg.attended_no_cancel"))
        return None
    return registration


@dataclass
class CancelDraft:
    registration: int


async def ask_cancel(ctx: Context, arg: str) -> None:
    registration = await _mine(ctx, arg)
    if registration is None:
        return
    steps.start(ctx, CANCEL_FLOW, "confirm", CancelDraft(registration.id))
    ctx.say(
        ctx.t(
            "reg.ask_cancel",
            name=registration.name or "-",
            title=registration.event_title,
            when=ctx.when(registration.event_starts_at),
        ),
        ctx.choice("reg.cancel_yes", f"rc:{registration.id}", means="yes"),
        ctx.choice("reg.cancel_no", "my", means="no"),
    )


async def _ask_cancel_again(ctx: Context) -> None:
    draft = steps.load_draft(ctx, CANCEL_FLOW, CancelDraft)
    if draft is None:
        expired(ctx)
        return
    await ask_cancel(ctx, str(draft.registration))


async def cancel(ctx: Context, arg: str) -> None:
    if ctx.session.flow == CANCEL_FLOW.name:
        steps.end(ctx)
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


FLOW = steps.register(
    steps.Flow(
        "reg",
        steps={
            "name": Step(Accepts.NAME, ask=_reask, typed=typed_name),
            "gender": Step(Accepts.CHOICE, ask=_reask, hint="steps.hint_gender"),
            "age_band": Step(Accepts.CHOICE, ask=_reask, hint="steps.hint_age"),
            "village": Step(Accepts.TEXT, ask=_reask, typed=typed_village),
            "confirm": Step(Accepts.CHOICE, ask=_reask, hint="steps.hint_confirm"),
        },
        payloads=frozenset({"reg", "regp", "regu", "regn", "rega", "rq", "reg!"}),
        pausable=True,
        resume_key="reg.resume",
    )
)

CANCEL_FLOW = steps.register(
    steps.Flow(
        "rcx",
        steps={"confirm": Step(Accepts.CHOICE, ask=_ask_cancel_again, hint="steps.hint_yes_no")},
        payloads=frozenset({"rc", "my"}),
    )
)
