"""Librarians' events from chat: /acarabaru (/newevent) and /kelolaacara (/manageevents).

Create (flow "nev", handlers/steps.py, draft `NewEventDraft`; every answer checked, an answer
that does not fit asks the same question again with the answers so far kept, /batal at any
step):

```mermaid
stateDiagram-v2
    [*] --> library: admin / coordinator (nev:lr:<regency>, nev:lib:<library>)
    [*] --> title: librarian (their library)
    library --> title
    title --> category: 5-120 characters
    category --> description: nev:c:<category> (or its name / number typed)
    description --> place: text or "-"
    place --> when: text or "-"
    when --> capacity: "12-12-2026 09.00-12.00", in the future
    capacity --> deadline: 1-5000, "-" or nev:cu (unlimited)
    deadline --> questions: before the start, or "-"
    questions --> confirm: nev:q:<question> toggles, nev:q:done
    confirm --> title: nev:fix:<field> (back to the review after it)
    confirm --> [*]: nev:save:open | nev:save:draft
    category --> category: anything else (hint, asked again)
    confirm --> confirm: anything else (hint, asked again)
```

Admins and coordinators create for a library in their scope: the flow starts by asking which
(regency, then library). The review offers a button per field to fix just that one.

Manage: pick an event in one's scope ─> details with the check-in code ─> open / close
registration, mark finished, cancel (handlers/staff/event_cancel.py: confirmed, with or without
a note; restorable until the start), or edit the time, place, capacity, deadline or questions
(flow "sev", draft `EditDraft`, one typed answer per field). A new time or place is shown
old → new and confirmed before registrants are told.

```mermaid
stateDiagram-v2
    [*] --> field: sev:ed:<event>:<time|place|capacity|deadline>
    [*] --> questions: sev:ed:<event>:questions
    [*] --> cancel_choice: sev:x:<event>
    field --> confirm_change: a new time / place (old → new)
    field --> [*]: capacity, deadline saved (or sev:cu: unlimited)
    confirm_change --> [*]: sev:cy (saved, registrants told) | "tidak" / sev:k (kept)
    questions --> questions: sev:q:<event>:<question> toggles
    questions --> [*]: sev:q:<event>:done
    cancel_choice --> cancel_note: sev:xm (with a note)
    cancel_choice --> cancel_confirm: sev:xn (without)
    cancel_note --> cancel_confirm: the note (5-500 characters)
    cancel_confirm --> [*]: sev:xy (cancelled) | "tidak" / sev:k (kept)
    field --> field: not a time / place / number (its own hint, asked again)
    questions --> questions: anything else (hint, asked again)
```
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers import steps
from handlers.common import clip, expired, page_count, pager, parse_page, typed_choice
from handlers.events import CATEGORIES
from handlers.staff import access, event_cancel
from handlers.staff.access import event_in_reach
from handlers.staff.event_cancel import EditDraft, edit_draft
from handlers.staff.nav import nav
from handlers.staff.when import parse_local, parse_local_range
from handlers.steps import Accepts, Step
from handlers.types import Choice, Context
from handlers.understand import says_no
from storage.errors import NotFound
from storage.models import Event
from storage.registrations import EventCancelled, RegistrationClosed
from storage.staff import StaffRole
from storage.staff_events import CapacityTooLow, NewEvent

NEW = "nev"
EDIT = "sev"
QUESTIONS = ("gender", "age_band", "village")
TITLE_MIN, TITLE_MAX = 5, 120
DESCRIPTION_MAX = 600
PLACE_MAX = 120
CAPACITY_MAX = 5000
MAX_DAYS_AHEAD = 365
SKIP = {"-", "lewati", "skip"}
UNLIMITED = {"-", "tanpa batas", "tak terbatas", "tidak terbatas", "unlimited", "no limit"}
# Fields the review can send one back to, in the order the flow asks them.
FIX_FIELDS = ("title", "category", "description", "place", "when", "capacity", "deadline")


def _end(ctx: Context) -> None:
    if ctx.session.flow == EDIT:
        steps.end(ctx)


async def managed_event(ctx: Context, role: StaffRole, value: str) -> Event | None:
    """The event named by a button, if it exists; OutOfScope if the role does not manage it (a
    librarian: their library's; a coordinator: their regency's; an admin: any)."""
    return await event_in_reach(ctx, value, role.covers_event)


# --- create ---------------------------------------------------------------------------------


@dataclasses.dataclass
class NewEventDraft:
    """The answers of /acarabaru so far (dates as ISO text: the draft is stored as JSON)."""

    library: int | None = None
    library_name: str = ""
    title: str = ""
    category: str = ""
    description: str = ""
    place: str | None = None
    starts_at: str = ""
    ends_at: str = ""
    capacity: int | None = None
    deadline: str | None = None
    questions: list[str] = dataclasses.field(default_factory=list)
    # Fixing one field from the review: back to the review after it.
    fixing: bool = False


def _new_draft(ctx: Context) -> NewEventDraft | None:
    return steps.load_draft(ctx, NEW_FLOW, NewEventDraft)


async def new(ctx: Context, role: StaffRole) -> None:
    if role.library_id is not None:
        _start_new(ctx, role.library_id, role.library_name or "")
        return
    steps.start(ctx, NEW_FLOW, "library", NewEventDraft())
    await _ask_where(ctx, role)


async def _ask_where(ctx: Context, role: StaffRole) -> None:
    """Which library (a coordinator's regency is known; an admin picks the regency first)."""
    if role.regency is not None:
        await _ask_library(ctx, role, role.regency)
        return
    regencies = await ctx.storage.libraries.regencies()
    ctx.say(
        ctx.t("staff_safety.new.ask_regency"),
        *(Choice(r.name, f"nev:lr:{r.code}") for r in regencies),
        *nav(ctx),
    )


async def _ask_library(ctx: Context, role: StaffRole, regency: str) -> None:
    if not role.covers_regency(regency):
        expired(ctx)
        return
    libraries = await ctx.storage.libraries.in_regency(regency_code=regency)
    if not libraries:
        ctx.say(ctx.t("staff.roles.no_library"), *nav(ctx))
        return
    ctx.say(
        ctx.t("staff_safety.new.ask_library"),
        *(Choice(clip(lib.name, 60), f"nev:lib:{lib.id}") for lib in libraries),
        *nav(ctx),
    )


def _start_new(ctx: Context, library_id: int, library_name: str) -> None:
    draft = NewEventDraft(library=library_id, library_name=library_name)
    steps.start(ctx, NEW_FLOW, "title", draft)
    ctx.say(ctx.t("staff.ev.ask_title", library=library_name, limit=TITLE_MAX))


def _after(ctx: Context, draft: NewEventDraft) -> bool:
    """Fixing one field from the review: go back to it instead of on. True when it did."""
    steps.keep(ctx, draft)
    if not draft.fixing:
        return False
    draft.fixing = False
    steps.keep(ctx, draft)
    steps.goto(ctx, "confirm")
    _review(ctx, draft)
    return True


def _goto(ctx: Context, draft: NewEventDraft, step: str) -> None:
    steps.keep(ctx, draft)
    steps.goto(ctx, step)


async def new_typed(ctx: Context, role: StaffRole) -> None:
    draft = _new_draft(ctx)
    if draft is None or draft.library is None:
        expired(ctx)
        return
    text = " ".join(ctx.incoming.text.split())
    step = ctx.session.step
    if step == "title":
        if not TITLE_MIN <= len(text) <= TITLE_MAX:
            ctx.say(ctx.t("staff.ev.bad_length", min=TITLE_MIN, max=TITLE_MAX))
            return
        draft.title = text
        if _after(ctx, draft):
            return
        _goto(ctx, draft, "category")
        _ask_category(ctx)
    elif step == "description":
        if len(text) > DESCRIPTION_MAX:
            ctx.say(ctx.t("staff.ev.bad_length", min=0, max=DESCRIPTION_MAX))
            return
        draft.description = "" if text.casefold() in SKIP else ctx.incoming.text.strip()
        if _after(ctx, draft):
            return
        _goto(ctx, draft, "place")
        ctx.say(ctx.t("staff.ev.ask_place", library=draft.library_name))
    elif step == "place":
        if len(text) > PLACE_MAX:
            ctx.say(ctx.t("staff.ev.bad_length", min=0, max=PLACE_MAX))
            return
        draft.place = None if text.casefold() in SKIP else text
        if _after(ctx, draft):
            return
        _goto(ctx, draft, "when")
        ctx.say(ctx.t("staff.ev.ask_when", example=_example(ctx)))
    elif step == "when":
        span = _read_span(ctx, text)
        if span is None:
            return
        draft.starts_at, draft.ends_at = span[0].isoformat(), span[1].isoformat()
        if draft.deadline and datetime.fromisoformat(draft.deadline) >= span[0]:
            # A new start before the deadline already given: ask the deadline again.
            draft.fixing = True
            _goto(ctx, draft, "deadline")
            ctx.say(ctx.t("staff.ev.deadline_range"))
            ctx.say(ctx.t("staff.ev.ask_deadline", example=_example(ctx, time_only=False)))
            return
        if _after(ctx, draft):
            return
        _goto(ctx, draft, "capacity")
        _ask_capacity(ctx, None)
    elif step == "capacity":
        if text.casefold() in UNLIMITED:
            draft.capacity = None
        else:
            capacity = _read_capacity(ctx, text)
            if capacity is None:
                return
            draft.capacity = capacity
        if _after(ctx, draft):
            return
        _goto(ctx, draft, "deadline")
        ctx.say(ctx.t("staff.ev.ask_deadline", example=_example(ctx, time_only=False)))
    elif step == "deadline":
        if text.casefold() in SKIP:
            draft.deadline = None
        else:
            deadline = _read_deadline(ctx, text, _start(draft))
            if deadline is None:
                return
            draft.deadline = deadline.isoformat()
        if _after(ctx, draft):
            return
        _goto(ctx, draft, "questions")
        _ask_questions(ctx, draft.questions, "nev:q")
    else:
        expired(ctx)


async def _reask_new(ctx: Context) -> None:
    """The question of the step /acarabaru waits at, again (after the hint)."""
    draft = _new_draft(ctx)
    step = ctx.session.step or ""
    if draft is None or draft.library is None:
        expired(ctx)
    elif step in FIX_FIELDS:
        _ask_again(ctx, draft, step)
    elif step == "questions":
        _ask_questions(ctx, draft.questions, "nev:q")
    elif step == "confirm":
        _review(ctx, draft)
    else:
        expired(ctx)


def _ask_category(ctx: Context) -> None:
    ctx.say(
        ctx.t("staff.ev.ask_category"),
        *(ctx.choice(f"events.category.{c}", f"nev:c:{c}") for c in CATEGORIES),
    )


def _ask_capacity(ctx: Context, current: int | None, *, editing: bool = False) -> None:
    """The seat question with an "unlimited" button; when editing, the current number."""
    text = ctx.t("staff.ev.ask_capacity", max=CAPACITY_MAX)
    if editing:
        shown = ctx.translator.number(ctx.language, current) if current is not None else "∞"
        text = ctx.t("staff_safety.edit.capacity_now", capacity=shown) + "\n" + text
    payload = "sev:cu" if editing else "nev:cu"
    ctx.say(text, ctx.choice("staff_safety.new.unlimited", payload))


def _start(draft: NewEventDraft) -> datetime:
    return datetime.fromisoformat(draft.starts_at)


def _example(ctx: Context, *, time_only: bool = True) -> str:
    local = (ctx.now + timedelta(days=7)).astimezone(ZoneInfo(ctx.settings.timezone))
    return local.strftime("%d-%m-%Y 09.00-12.00" if time_only else "%d-%m-%Y 17.00")


def _read_span(ctx: Context, text: str) -> tuple[datetime, datetime] | None:
    span = parse_local_range(text, ctx.settings.timezone)
    if span is None:
        ctx.say(ctx.t("staff.ev.when_invalid", example=_example(ctx)))
        return None
    starts, ends = span
    if starts <= ctx.now:
        ctx.say(ctx.t("staff.ev.when_past", example=_example(ctx)))
        return None
    if starts > ctx.now + timedelta(days=MAX_DAYS_AHEAD):
        ctx.say(ctx.t("staff.ev.when_far", days=MAX_DAYS_AHEAD))
        return None
    if ends <= starts:
        ctx.say(ctx.t("staff.ev.end_before_start"))
        return None
    return starts, ends


def _read_capacity(ctx: Context, text: str) -> int | None:
    if not text.isdigit() or not 1 <= int(text) <= CAPACITY_MAX:
        ctx.say(ctx.t("staff.ev.capacity_invalid", max=CAPACITY_MAX))
        return None
    return int(text)


def _read_deadline(ctx: Context, text: str, starts_at: datetime) -> datetime | None:
    deadline = parse_local(text, ctx.settings.timezone)
    if deadline is None:
        ctx.say(ctx.t("staff.ev.deadline_invalid", example=_example(ctx, time_only=False)))
        return None
    # Registration closing at the very start leaves nobody time to come: strictly before.
    if deadline <= ctx.now or deadline >= starts_at:
        ctx.say(ctx.t("staff.ev.deadline_range"))
        return None
    return deadline


def _toggle(chosen: list[str], question: str) -> None:
    if question in chosen:
        chosen.remove(question)
    else:
        chosen.append(question)


def _ask_questions(ctx: Context, chosen: list[str], prefix: str) -> None:
    choices = [
        Choice(("✅ " if q in chosen else "⬜ ") + ctx.t(f"staff.ev.question.{q}"), f"{prefix}:{q}")
        for q in QUESTIONS
    ]
    choices.append(ctx.choice("staff.ev.questions_done", f"{prefix}:done"))
    ctx.say(ctx.t("staff.ev.ask_questions"), *choices)


async def new_button(ctx: Context, role: StaffRole, arg: str) -> None:
    """nev:lr:<regency> | nev:lib:<library> | nev:c:<category> | nev:cu (unlimited seats)
    | nev:q:<question | done> | nev:fix:<field> | nev:save:<draft | open>"""
    draft = _new_draft(ctx)
    if draft is None:
        expired(ctx)
        return
    action, _, value = arg.partition(":")
    step = ctx.session.step
    if step == "library" and action in ("lr", "lib"):
        await _library_button(ctx, role, action, value)
        return
    if draft.library is None:
        expired(ctx)
        return
    if action == "c" and step == "category" and value in CATEGORIES:
        draft.category = value
        if _after(ctx, draft):
            return
        _goto(ctx, draft, "description")
        ctx.say(ctx.t("staff.ev.ask_description", max=DESCRIPTION_MAX))
        return
    if action == "q" and step == "questions" and value in QUESTIONS:
        _toggle(draft.questions, value)
        steps.keep(ctx, draft)
        _ask_questions(ctx, draft.questions, "nev:q")
        return
    if action == "cu" and step == "capacity":
        draft.capacity = None
        if _after(ctx, draft):
            return
        _goto(ctx, draft, "deadline")
        ctx.say(ctx.t("staff.ev.ask_deadline", example=_example(ctx, time_only=False)))
        return
    if action == "q" and step == "questions" and value == "done":
        steps.goto(ctx, "confirm")
        _review(ctx, draft)
        return
    if action == "fix" and step == "confirm" and value in FIX_FIELDS:
        draft.fixing = True
        _goto(ctx, draft, value)
        _ask_again(ctx, draft, value)
        return
    if action == "save" and step == "confirm" and value in ("open", "draft"):
        library = draft.library
        if not await _library_in_scope(ctx, role, library):
            expired(ctx)
            return
        event_id = await ctx.storage.staff_events.create(
            NewEvent(
                library_id=library,
                title=draft.title,
                category=draft.category,
                description=draft.description,
                place=draft.place,
                starts_at=datetime.fromisoformat(draft.starts_at),
                ends_at=datetime.fromisoformat(draft.ends_at),
                capacity=draft.capacity,
                registration_closes_at=(
                    datetime.fromisoformat(draft.deadline) if draft.deadline else None
                ),
                questions=tuple(draft.questions),
                status=value,
            ),
            actor=role.actor,
            role=role.role,
            now=ctx.now,
        )
        steps.end(ctx)
        ctx.say(ctx.t(f"staff.ev.created_{value}", title=draft.title))
        await _show(ctx, role, await ctx.storage.events.get(event_id=event_id))
        return
    expired(ctx)


async def _library_in_scope(ctx: Context, role: StaffRole, library_id: int) -> bool:
    try:
        library = await ctx.storage.libraries.get(library_id=library_id)
    except NotFound:
        return False
    if role.role == "librarian":
        return role.library_id == library_id
    return role.covers_regency(library.regency_code)


async def _library_button(ctx: Context, role: StaffRole, action: str, value: str) -> None:
    if action == "lr":
        codes = {r.code for r in await ctx.storage.libraries.regencies()}
        if value not in codes:
            expired(ctx)
            return
        await _ask_library(ctx, role, value)
        return
    if not value.isdigit() or not await _library_in_scope(ctx, role, int(value)):
        expired(ctx)
        return
    library = await ctx.storage.libraries.get(library_id=int(value))
    _start_new(ctx, library.id, library.name)


def _review(ctx: Context, draft: NewEventDraft) -> None:
    """The summary with save buttons and one button per field to fix only that one."""
    ctx.say(
        _summary(ctx, draft),
        ctx.choice("staff.ev.save_open", "nev:save:open"),
        ctx.choice("staff.ev.save_draft", "nev:save:draft"),
        *(ctx.choice(f"staff_safety.fix.{field}", f"nev:fix:{field}") for field in FIX_FIELDS),
        ctx.choice("staff.bc.cancel", "batal"),
    )


def _ask_again(ctx: Context, draft: NewEventDraft, field: str) -> None:
    library = draft.library_name
    if field == "title":
        ctx.say(ctx.t("staff.ev.ask_title", library=library, limit=TITLE_MAX))
    elif field == "category":
        _ask_category(ctx)
    elif field == "description":
        ctx.say(ctx.t("staff.ev.ask_description", max=DESCRIPTION_MAX))
    elif field == "place":
        ctx.say(ctx.t("staff.ev.ask_place", library=library))
    elif field == "when":
        ctx.say(ctx.t("staff.ev.ask_when", example=_example(ctx)))
    elif field == "capacity":
        _ask_capacity(ctx, None)
    else:
        ctx.say(ctx.t("staff.ev.ask_deadline", example=_example(ctx, time_only=False)))


def _summary(ctx: Context, draft: NewEventDraft) -> str:
    questions = ", ".join(ctx.t(f"staff.ev.question.{q}") for q in draft.questions) or "-"
    deadline = ctx.when(datetime.fromisoformat(draft.deadline)) if draft.deadline else "-"
    return ctx.t(
        "staff.ev.summary",
        title=draft.title,
        category=ctx.t(f"events.category.{draft.category}"),
        library=draft.library_name,
        place=draft.place or draft.library_name,
        when=ctx.when(datetime.fromisoformat(draft.starts_at)),
        ends=ctx.when(datetime.fromisoformat(draft.ends_at)),
        capacity=(
            ctx.t("staff_safety.new.unlimited_short") if draft.capacity is None else draft.capacity
        ),
        deadline=deadline,
        questions=questions,
        description=draft.description or "-",
    )


# --- manage ---------------------------------------------------------------------------------


async def manage(ctx: Context, role: StaffRole) -> None:
    await pick_event(ctx, role, page=0, target="sev:e:{}", pages="sev:l:{}")


async def pick_event(ctx: Context, role: StaffRole, *, page: int, target: str, pages: str) -> None:
    """A page of the events this role covers: a tap leads to `target` with the event's id in
    place of {}, the pager to `pages` with the page number."""
    size = ctx.settings.page_size
    events, total = await ctx.storage.staff_events.for_role(
        role=role, now=ctx.now, offset=page * size, limit=size
    )
    if not events:
        ctx.say(ctx.t("staff.events.none"), *nav(ctx))
        return
    choices = [event_choice(ctx, e, target.format(e.id)) for e in events]
    choices += pager(ctx, page=page, total=total, page_size=size, payload=pages)
    ctx.say(
        ctx.t("staff.ev.pick", page=page + 1, pages=page_count(total, size)),
        *choices,
        *nav(ctx),
    )


def event_choice(ctx: Context, event: Event, payload: str) -> Choice:
    day = ctx.translator.day(ctx.language, event.starts_at)
    status = ctx.t(f"staff.ev.status.{event.status}")
    return Choice(clip(f"{event.title} · {day} · {status}", 64), payload)


async def _show(ctx: Context, role: StaffRole, event: Event) -> None:
    code = await ctx.storage.registrations.checkin_code(event_id=event.id)
    deadline = ctx.when(event.registration_closes_at) if event.registration_closes_at else "-"
    questions = ", ".join(ctx.t(f"staff.ev.question.{q}") for q in event.questions) or "-"
    text = ctx.t(
        "staff.ev.details",
        title=event.title,
        status=ctx.t(f"staff.ev.status.{event.status}"),
        when=ctx.when(event.starts_at),
        ends=ctx.when(event.ends_at),
        place=event.place or event.library_name,
        capacity=event.capacity if event.capacity is not None else "∞",
        taken=event.seats_taken,
        deadline=deadline,
        questions=questions,
        code=code,
    )
    choices: list[Choice] = []
    live = event.status not in ("cancelled", "finished")
    if event.status in ("draft", "closed"):
        choices.append(ctx.choice("staff.ev.open", f"sev:o:{event.id}"))
    if event.status == "open":
        choices.append(ctx.choice("staff.ev.close", f"sev:c:{event.id}"))
    if live:
        for field in ("time", "place", "capacity", "deadline", "questions"):
            choices.append(ctx.choice(f"staff.ev.edit_{field}", f"sev:ed:{event.id}:{field}"))
        if event.status != "draft" and ctx.now >= event.starts_at:
            # Only once it has begun: "finished" ends check-in and counts the no-shows.
            choices.append(ctx.choice("staff.ev.finish", f"sev:f:{event.id}"))
        choices.append(ctx.choice("staff.ev.cancel", f"sev:x:{event.id}"))
    if event_cancel.restorable(ctx, event):
        choices.append(ctx.choice("staff_safety.restore.button", f"sev:r:{event.id}"))
    choices.append(ctx.choice("staff.ev.registrants", f"spe:e:{event.id}:0"))
    ctx.say(text, *choices, *nav(ctx, "sev:l:0"))


async def manage_button(ctx: Context, role: StaffRole, arg: str) -> None:
    """sev:l:<page> | e | o | c | cc (close, confirmed) | f | x | xm | xn | xy | k (keep) | r | ry
    | ed:<id>:<field> | cy (save the confirmed change) | cu (unlimited seats)
    | q:<id>:<question>"""
    action, _, rest = arg.partition(":")
    if action == "l":
        try:
            await pick_event(ctx, role, page=parse_page(rest), target="sev:e:{}", pages="sev:l:{}")
        except ValueError:
            expired(ctx)
        return
    if action == "cu":
        await _unlimited(ctx, role)
        return
    value, _, extra = rest.partition(":")
    event = await managed_event(ctx, role, value)
    if event is None:
        expired(ctx)
        return
    try:
        if await _lifecycle(ctx, role, event, action):
            return
        if action == "ed" and extra in ("time", "place", "capacity", "deadline"):
            steps.start(ctx, EDIT_FLOW, "field", EditDraft(event.id, field=extra))
            _edit_prompt(ctx, event, extra)
        elif action == "ed" and extra == "questions":
            steps.start(ctx, EDIT_FLOW, "questions", EditDraft(event.id))
            _ask_questions(ctx, list(event.questions), f"sev:q:{event.id}")
        elif action == "q" and ctx.session.step == "questions" and extra in QUESTIONS:
            chosen = list(event.questions)
            _toggle(chosen, extra)
            await ctx.storage.staff_events.update(
                event_id=event.id,
                field="questions",
                value=tuple(chosen),
                actor=role.actor,
                role=role.role,
                now=ctx.now,
            )
            _ask_questions(ctx, chosen, f"sev:q:{event.id}")
        elif action == "q" and extra == "done":
            _end(ctx)
            await _show(ctx, role, await ctx.storage.events.get(event_id=event.id))
        elif action == "cy" and _pending_change(ctx, event) is not None:
            await _apply_change(ctx, role, event)
        else:
            expired(ctx)
    except (RegistrationClosed, EventCancelled):
        ctx.say(ctx.t("staff.ev.not_now", status=ctx.t(f"staff.ev.status.{event.status}")))


async def _lifecycle(ctx: Context, role: StaffRole, event: Event, action: str) -> bool:
    """Showing, opening, closing, finishing, cancelling and restoring; True when handled."""
    if action == "e":
        if ctx.session.flow == EDIT:
            _end(ctx)  # leaving a half-done change by going back to the event
        await _show(ctx, role, event)
    elif action == "o":
        await ctx.storage.registrations.open_event(
            event_id=event.id,
            closes_at=event.registration_closes_at,
            actor=role.actor,
            role=role.role,
            now=ctx.now,
        )
        await _show(ctx, role, await ctx.storage.events.get(event_id=event.id))
    elif action == "c" and event.status == "open":
        # Residents who wanted to register are turned away: ask first.
        ctx.say(
            ctx.t("staff_safety.close.ask", title=event.title),
            ctx.choice("staff_safety.close.yes", f"sev:cc:{event.id}"),
            *nav(ctx, f"sev:e:{event.id}"),
        )
    elif action == "cc":
        await ctx.storage.registrations.close_event(
            event_id=event.id, actor=role.actor, role=role.role, now=ctx.now
        )
        await _show(ctx, role, await ctx.storage.events.get(event_id=event.id))
    elif action == "f" and ctx.now >= event.starts_at:
        await ctx.storage.registrations.finish_event(
            event_id=event.id, actor=role.actor, role=role.role, now=ctx.now
        )
        await _show(ctx, role, await ctx.storage.events.get(event_id=event.id))
    elif action == "x" and event.status not in ("cancelled", "finished"):
        await event_cancel.ask(ctx, event)
    elif action == "xm" and event.status not in ("cancelled", "finished"):
        event_cancel.ask_note(ctx, event)
    elif action == "xn" and ctx.session.flow == EDIT and ctx.session.step == "cancel_choice":
        event_cancel.confirm(ctx, event, None)
    elif action == "xy":
        if not await event_cancel.do_cancel(ctx, role, event):
            return False
        await _show(ctx, role, await ctx.storage.events.get(event_id=event.id))
    elif action == "k":
        await event_cancel.keep(ctx, event)
        await _show(ctx, role, event)
    elif action == "r":
        await event_cancel.ask_restore(ctx, event)
    elif action == "ry" and event.status == "cancelled":
        await event_cancel.do_restore(ctx, role, event)
        await _show(ctx, role, await ctx.storage.events.get(event_id=event.id))
    else:
        return False
    return True


def _edit_prompt(ctx: Context, event: Event, field: str) -> None:
    back = nav(ctx, f"sev:k:{event.id}")
    if field == "time":
        now = ctx.t("staff_safety.edit.time_now", when=ctx.when(event.starts_at))
        ctx.say(now + "\n" + ctx.t("staff.ev.ask_when", example=_example(ctx)), *back)
    elif field == "place":
        now = ctx.t("staff_safety.edit.place_now", place=event.place or event.library_name)
        ctx.say(now + "\n" + ctx.t("staff.ev.ask_new_place", max=PLACE_MAX), *back)
    elif field == "capacity":
        _ask_capacity(ctx, event.capacity, editing=True)
    else:
        ctx.say(ctx.t("staff.ev.ask_deadline", example=_example(ctx, time_only=False)), *back)


def _pending_change(ctx: Context, event: Event) -> EditDraft | None:
    draft = edit_draft(ctx)
    if (
        draft is None
        or ctx.session.step != "confirm_change"
        or draft.event != event.id
        or draft.new is None
    ):
        return None
    return draft


async def _confirm_change(ctx: Context, event: Event, field: str, new: Any) -> None:
    """Old → new and how many people will be told, before anything is saved."""
    draft = edit_draft(ctx) or EditDraft(event.id, field=field)
    draft.new = new
    steps.keep(ctx, draft)
    steps.goto(ctx, "confirm_change")
    counts = await ctx.storage.staff_events.counts(event_id=event.id, now=ctx.now)
    told = counts.confirmed + counts.waitlisted
    if field == "time":
        old_text = ctx.when(event.starts_at)
        new_text = ctx.when(datetime.fromisoformat(new[0]))
    else:
        old_text, new_text = event.place or event.library_name, str(new)
    ctx.say(
        ctx.t(
            f"staff_safety.edit.confirm_{field}",
            title=event.title,
            old=old_text,
            new=new_text,
            count=told,
        ),
        ctx.choice("staff_safety.edit.yes", f"sev:cy:{event.id}"),
        ctx.choice("staff_safety.edit.again", f"sev:ed:{event.id}:{field}"),
        ctx.choice("staff_safety.edit.keep", f"sev:k:{event.id}"),
    )


async def _apply_change(ctx: Context, role: StaffRole, event: Event) -> None:
    draft = _pending_change(ctx, event)
    field, new = (None, None) if draft is None else (draft.field, draft.new)
    _end(ctx)
    if field == "time" and isinstance(new, list):
        starts, ends = datetime.fromisoformat(new[0]), datetime.fromisoformat(new[1])
        if starts <= ctx.now:
            ctx.say(ctx.t("staff.ev.when_past", example=_example(ctx)))
            return
        result = await ctx.storage.registrations.reschedule_event(
            event_id=event.id,
            starts_at=starts,
            ends_at=ends,
            now=ctx.now,
            actor=role.actor,
            role=role.role,
        )
        ctx.say(ctx.t("staff.ev.rescheduled", count=result.notified))
    elif field == "place" and isinstance(new, str):
        told = await ctx.storage.staff_events.move(
            event_id=event.id, place=new, actor=role.actor, role=role.role, now=ctx.now
        )
        ctx.say(ctx.t("staff_safety.edit.moved", count=told))
    else:
        expired(ctx)
        return
    await _show(ctx, role, await ctx.storage.events.get(event_id=event.id))


async def _unlimited(ctx: Context, role: StaffRole) -> None:
    """sev:cu — the capacity being edited becomes unlimited."""
    draft = edit_draft(ctx)
    if draft is None or draft.field != "capacity" or ctx.session.step != "field":
        expired(ctx)
        return
    event = await managed_event(ctx, role, str(draft.event))
    if event is None:
        expired(ctx)
        return
    await _save_field(ctx, role, event, "capacity", None)


async def edit_typed(ctx: Context, role: StaffRole) -> None:
    """The typed new value of one field, a confirmation, or a cancellation step."""
    draft = edit_draft(ctx)
    if draft is None:
        expired(ctx)
        return
    event = await managed_event(ctx, role, str(draft.event))
    if event is None:
        expired(ctx)
        return
    text = " ".join(ctx.incoming.text.split())
    if ctx.session.step in ("cancel_choice", "cancel_confirm", "confirm_change"):
        # These steps wait for typing only to catch a no; a button's words (or number) typed
        # act as the button.
        picked = typed_choice(text, ctx.session.state.get("choices"))
        if picked is not None and picked.startswith("sev:"):
            await manage_button(ctx, role, picked.removeprefix("sev:"))
            return
    if ctx.session.step in ("cancel_choice", "cancel_note", "cancel_confirm"):
        if await event_cancel.typed(ctx, role, event):
            await _show(ctx, role, event)
        return
    field = draft.field
    if ctx.session.step == "confirm_change":
        if says_no(text):
            _end(ctx)
            ctx.say(ctx.t("staff_safety.edit.kept"))
            await _show(ctx, role, event)
            return
        ctx.say(ctx.t("staff_safety.edit.tap_to_confirm"))
        await _confirm_change(ctx, event, str(field), draft.new)
        return
    value: Any
    if field == "time":
        span = _read_span(ctx, text)
        if span is None:
            return
        if event.registration_closes_at is not None and event.registration_closes_at >= span[0]:
            ctx.say(ctx.t("staff_safety.edit.deadline_after_start"))
            return
        await _confirm_change(ctx, event, "time", [span[0].isoformat(), span[1].isoformat()])
        return
    if field == "place":
        if not 1 <= len(text) <= PLACE_MAX:
            ctx.say(ctx.t("staff.ev.bad_length", min=1, max=PLACE_MAX))
            return
        await _confirm_change(ctx, event, "place", text)
        return
    if field == "capacity":
        if text.casefold() in UNLIMITED:
            value = None
        else:
            value = _read_capacity(ctx, text)
            if value is None:
                return
    elif field == "deadline":
        if text.casefold() in SKIP:
            value = None
        else:
            value = _read_deadline(ctx, text, event.starts_at)
            if value is None:
                return
    else:
        expired(ctx)
        return
    await _save_field(ctx, role, event, str(field), value)


async def _save_field(ctx: Context, role: StaffRole, event: Event, field: str, value: Any) -> None:
    try:
        promoted = await ctx.storage.staff_events.update(
            event_id=event.id,
            field=field,
            value=value,
            actor=role.actor,
            role=role.role,
            now=ctx.now,
        )
    except CapacityTooLow as exc:
        ctx.say(ctx.t("staff.ev.capacity_too_low", taken=exc.taken))
        return
    _end(ctx)
    ctx.say(ctx.t("staff.ev.saved"))
    if promoted:
        ctx.say(ctx.t("staff.ev.promoted", count=promoted))
    await _show(ctx, role, await ctx.storage.events.get(event_id=event.id))


def _typed() -> Step:
    return Step(Accepts.TEXT, ask=_reask_new, typed=access.step(new_typed, access.LIBRARIANS))


NEW_FLOW = steps.register(
    steps.Flow(
        NEW,
        steps={
            "library": Step(Accepts.CHOICE, ask=access.step(_ask_where, access.LIBRARIANS)),
            "title": _typed(),
            "category": Step(Accepts.CHOICE, ask=_reask_new),
            "description": _typed(),
            "place": _typed(),
            "when": _typed(),
            "capacity": _typed(),
            "deadline": _typed(),
            "questions": Step(Accepts.CHOICE, ask=_reask_new),
            "confirm": Step(Accepts.CHOICE, ask=_reask_new),
        },
        payloads=frozenset({NEW}),
        stale_minutes=None,
    )
)


async def _edit_again(ctx: Context, role: StaffRole) -> None:
    """The question of the step /kelolaacara waits at, again (after the hint)."""
    draft = edit_draft(ctx)
    event = None if draft is None else await managed_event(ctx, role, str(draft.event))
    step = ctx.session.step
    if draft is None or event is None:
        expired(ctx)
    elif step == "questions":
        _ask_questions(ctx, list(event.questions), f"sev:q:{event.id}")
    elif step == "field" and draft.field is not None:
        _edit_prompt(ctx, event, draft.field)
    elif step == "cancel_choice":
        await event_cancel.ask(ctx, event)
    elif step == "cancel_note":
        event_cancel.ask_note(ctx, event)
    elif step == "cancel_confirm":
        event_cancel.confirm(ctx, event, draft.note)
    elif step == "confirm_change" and draft.field is not None:
        await _confirm_change(ctx, event, draft.field, draft.new)
    else:
        expired(ctx)


def _edit_step(accepts: Accepts, *, typed: bool = True) -> Step:
    again = access.step(_edit_again, access.LIBRARIANS)
    handler = access.step(edit_typed, access.LIBRARIANS) if typed else None
    return Step(accepts, ask=again, typed=handler)


# Every typed answer of "sev" goes to edit_typed, which checks it and asks again with its own
# hint (a no keeps the event; a button's words act as the button); only the questions' toggles
# are buttons alone.
EDIT_FLOW = steps.register(
    steps.Flow(
        EDIT,
        steps={
            "field": _edit_step(Accepts.TEXT),
            "questions": _edit_step(Accepts.CHOICE, typed=False),
            "cancel_choice": _edit_step(Accepts.CHOICE),
            "cancel_note": _edit_step(Accepts.TEXT),
            "cancel_confirm": _edit_step(Accepts.CHOICE),
            "confirm_change": _edit_step(Accepts.CHOICE),
        },
        payloads=frozenset({EDIT}),
        stale_minutes=None,
    )
)
