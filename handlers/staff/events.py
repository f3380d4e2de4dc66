"""Librarians' events from chat: /acarabaru (/newevent) and /kelolaacara (/manageevents).

Create (flow "nev"; every answer checked, /batal at any step):

    title ─> category (buttons) ─> description (or "-") ─> place (or "-")
      ─> when ("12-12-2026 09.00-12.00", in the future) ─> capacity (a positive number)
      ─> registration deadline (or "-"; before the start) ─> questions (toggles)
      ─> save as draft | save and open registration

Manage: pick an event of one's library ─> details with the check-in code ─> open / close
registration, mark finished, cancel (with an optional message to registrants), or edit the time,
place, capacity, deadline or questions (flow "sev", one typed answer per field). Time changes and
cancellations go through the registrations repository, which tells the registrants.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers.common import clip, expired, page_count, pager, parse_page
from handlers.events import CATEGORIES
from handlers.staff.access import event_in_reach
from handlers.staff.broadcast import resident_text
from handlers.staff.when import parse_local, parse_local_range
from handlers.types import Choice, Context
from storage.broadcasts import Audience, EmptyAudience
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


def _end(ctx: Context) -> None:
    for key in ("flow", "step", "draft"):
        ctx.session.state.pop(key, None)


def _draft(ctx: Context, flow: str) -> dict[str, Any] | None:
    draft = ctx.session.state.get("draft")
    return draft if ctx.session.flow == flow and isinstance(draft, dict) else None


async def managed_event(ctx: Context, role: StaffRole, value: str) -> Event | None:
    """The event named by a button, if it exists; OutOfScope if the role does not manage it."""
    return await event_in_reach(ctx, value, lambda event: role.manages_library(event.library_id))


# --- create ---------------------------------------------------------------------------------


async def new(ctx: Context, role: StaffRole) -> None:
    if role.library_id is None:
        ctx.say(ctx.t("staff.ev.librarians_only"))
        return
    ctx.session.state.update(flow=NEW, step="title", draft={"questions": []})
    ctx.say(ctx.t("staff.ev.ask_title", library=role.library_name, limit=TITLE_MAX))


async def new_typed(ctx: Context, role: StaffRole) -> None:
    draft = _draft(ctx, NEW)
    if draft is None or role.library_id is None:
        expired(ctx)
        return
    text = " ".join(ctx.incoming.text.split())
    step = ctx.session.step
    if step == "title":
        if not TITLE_MIN <= len(text) <= TITLE_MAX:
            ctx.say(ctx.t("staff.ev.bad_length", min=TITLE_MIN, max=TITLE_MAX))
            return
        draft["title"] = text
        ctx.session.state["step"] = "category"
        ctx.say(
            ctx.t("staff.ev.ask_category"),
            *(ctx.choice(f"events.category.{c}", f"nev:c:{c}") for c in CATEGORIES),
        )
    elif step == "description":
        if len(text) > DESCRIPTION_MAX:
            ctx.say(ctx.t("staff.ev.bad_length", min=0, max=DESCRIPTION_MAX))
            return
        draft["description"] = "" if text.casefold() in SKIP else ctx.incoming.text.strip()
        ctx.session.state["step"] = "place"
        ctx.say(ctx.t("staff.ev.ask_place", library=role.library_name))
    elif step == "place":
        if len(text) > PLACE_MAX:
            ctx.say(ctx.t("staff.ev.bad_length", min=0, max=PLACE_MAX))
            return
        draft["place"] = None if text.casefold() in SKIP else text
        ctx.session.state["step"] = "when"
        ctx.say(ctx.t("staff.ev.ask_when", example=_example(ctx)))
    elif step == "when":
        span = _read_span(ctx, text)
        if span is None:
            return
        draft["starts_at"], draft["ends_at"] = span[0].isoformat(), span[1].isoformat()
        ctx.session.state["step"] = "capacity"
        ctx.say(ctx.t("staff.ev.ask_capacity", max=CAPACITY_MAX))
    elif step == "capacity":
        capacity = _read_capacity(ctx, text)
        if capacity is None:
            return
        draft["capacity"] = capacity
        ctx.session.state["step"] = "deadline"
        ctx.say(ctx.t("staff.ev.ask_deadline", example=_example(ctx, time_only=False)))
    elif step == "deadline":
        if text.casefold() in SKIP:
            draft["deadline"] = None
        else:
            deadline = _read_deadline(ctx, text, _start(draft))
            if deadline is None:
                return
            draft["deadline"] = deadline.isoformat()
        ctx.session.state["step"] = "questions"
        _ask_questions(ctx, draft["questions"], "nev:q")
    else:
        expired(ctx)


def _start(draft: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(draft["starts_at"]))


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
    if deadline <= ctx.now or deadline > starts_at:
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
    """nev:c:<category> | nev:q:<question | done> | nev:save:<draft | open>"""
    draft = _draft(ctx, NEW)
    if draft is None or role.library_id is None:
        expired(ctx)
        return
    action, _, value = arg.partition(":")
    step = ctx.session.step
    if action == "c" and step == "category" and value in CATEGORIES:
        draft["category"] = value
        ctx.session.state["step"] = "description"
        ctx.say(ctx.t("staff.ev.ask_description", max=DESCRIPTION_MAX))
        return
    if action == "q" and step == "questions" and value in QUESTIONS:
        chosen = draft["questions"]
        _toggle(chosen, value)
        _ask_questions(ctx, chosen, "nev:q")
        return
    if action == "q" and step == "questions" and value == "done":
        ctx.session.state["step"] = "confirm"
        ctx.say(
            _summary(ctx, draft, role.library_name or ""),
            ctx.choice("staff.ev.save_open", "nev:save:open"),
            ctx.choice("staff.ev.save_draft", "nev:save:draft"),
            ctx.choice("staff.bc.cancel", "batal"),
        )
        return
    if action == "save" and step == "confirm" and value in ("open", "draft"):
        event_id = await ctx.storage.staff_events.create(
            NewEvent(
                library_id=role.library_id,
                title=draft["title"],
                category=draft["category"],
                description=draft.get("description") or "",
                place=draft.get("place"),
                starts_at=datetime.fromisoformat(draft["starts_at"]),
                ends_at=datetime.fromisoformat(draft["ends_at"]),
                capacity=int(draft["capacity"]),
                registration_closes_at=(
                    datetime.fromisoformat(draft["deadline"]) if draft.get("deadline") else None
                ),
                questions=tuple(draft["questions"]),
                status=value,
            ),
            actor=role.actor,
            role=role.role,
            now=ctx.now,
        )
        _end(ctx)
        ctx.say(ctx.t(f"staff.ev.created_{value}", title=draft["title"]))
        await _show(ctx, role, await ctx.storage.events.get(event_id=event_id))
        return
    expired(ctx)


def _summary(ctx: Context, draft: dict[str, Any], library: str) -> str:
    questions = ", ".join(ctx.t(f"staff.ev.question.{q}") for q in draft["questions"]) or "-"
    deadline = ctx.when(datetime.fromisoformat(draft["deadline"])) if draft.get("deadline") else "-"
    return ctx.t(
        "staff.ev.summary",
        title=draft["title"],
        category=ctx.t(f"events.category.{draft['category']}"),
        library=library,
        place=draft.get("place") or library,
        when=ctx.when(datetime.fromisoformat(draft["starts_at"])),
        ends=ctx.when(datetime.fromisoformat(draft["ends_at"])),
        capacity=draft["capacity"],
        deadline=deadline,
        questions=questions,
        description=draft.get("description") or "-",
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
        ctx.say(ctx.t("staff.events.none"))
        return
    choices = [event_choice(ctx, e, target.format(e.id)) for e in events]
    choices += pager(ctx, page=page, total=total, page_size=size, payload=pages)
    ctx.say(ctx.t("staff.ev.pick", page=page + 1, pages=page_count(total, size)), *choices)


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
    choices.append(ctx.choice("staff.ev.registrants", f"spe:e:{event.id}:0"))
    ctx.say(text, *choices)


async def manage_button(ctx: Context, role: StaffRole, arg: str) -> None:
    """sev:l:<page> | e | o | c | f | x | xn:<id> (cancel without a message) | ed:<id>:<field>
    | q:<id>:<question>"""
    action, _, rest = arg.partition(":")
    if action == "l":
        try:
            await pick_event(ctx, role, page=parse_page(rest), target="sev:e:{}", pages="sev:l:{}")
        except ValueError:
            expired(ctx)
        return
    value, _, extra = rest.partition(":")
    event = await managed_event(ctx, role, value)
    if event is None:
        expired(ctx)
        return
    try:
        if action == "e":
            await _show(ctx, role, event)
        elif action == "o":
            await ctx.storage.registrations.open_event(
                event_id=event.id, closes_at=event.registration_closes_at
            )
            await _changed(ctx, role, event, "event.open")
        elif action == "c":
            await ctx.storage.registrations.close_event(event_id=event.id)
            await _changed(ctx, role, event, "event.close")
        elif action == "f" and ctx.now >= event.starts_at:
            await ctx.storage.registrations.finish_event(event_id=event.id)
            await _changed(ctx, role, event, "event.finish")
        elif action == "x" and event.status not in ("cancelled", "finished"):
            ctx.session.state.update(flow=EDIT, step="cancel_note", draft={"event": event.id})
            ctx.say(
                ctx.t("staff.ev.cancel_ask", title=event.title),
                ctx.choice("staff.ev.cancel_without_note", f"sev:xn:{event.id}"),
                ctx.choice("staff.ev.keep", f"sev:e:{event.id}"),
            )
        elif action == "xn" and _draft(ctx, EDIT) is not None:
            await _cancel_event(ctx, role, event, note=None)
        elif action == "ed" and extra in ("time", "place", "capacity", "deadline"):
            ctx.session.state.update(
                flow=EDIT, step="field", draft={"event": event.id, "field": extra}
            )
            ctx.say(_edit_prompt(ctx, extra))
        elif action == "ed" and extra == "questions":
            ctx.session.state.update(flow=EDIT, step="questions", draft={"event": event.id})
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
        else:
            expired(ctx)
    except (RegistrationClosed, EventCancelled):
        ctx.say(ctx.t("staff.ev.not_now", status=ctx.t(f"staff.ev.status.{event.status}")))


async def _changed(ctx: Context, role: StaffRole, event: Event, action: str) -> None:
    await ctx.storage.staff.record(
        actor=role.actor, role=role.role, action=action, target=f"event:{event.id}", now=ctx.now
    )
    await _show(ctx, role, await ctx.storage.events.get(event_id=event.id))


def _edit_prompt(ctx: Context, field: str) -> str:
    if field == "time":
        return ctx.t("staff.ev.ask_when", example=_example(ctx))
    if field == "place":
        return ctx.t("staff.ev.ask_new_place", max=PLACE_MAX)
    if field == "capacity":
        return ctx.t("staff.ev.ask_capacity", max=CAPACITY_MAX)
    return ctx.t("staff.ev.ask_deadline", example=_example(ctx, time_only=False))


async def edit_typed(ctx: Context, role: StaffRole) -> None:
    """The typed new value of one field, or the cancellation note."""
    draft = _draft(ctx, EDIT)
    if draft is None:
        expired(ctx)
        return
    event = await managed_event(ctx, role, str(draft.get("event")))
    if event is None:
        expired(ctx)
        return
    text = " ".join(ctx.incoming.text.split())
    if ctx.session.step == "cancel_note":
        if len(text) < 5:
            ctx.say(ctx.t("staff.bc.too_short", limit=5))
            return
        await _cancel_event(ctx, role, event, note=ctx.incoming.text.strip())
        return
    field = draft.get("field")
    value: Any
    if field == "time":
        span = _read_span(ctx, text)
        if span is None:
            return
        try:
            result = await ctx.storage.registrations.reschedule_event(
                event_id=event.id, starts_at=span[0], ends_at=span[1], now=ctx.now
            )
        except (RegistrationClosed, EventCancelled):
            _end(ctx)
            ctx.say(ctx.t("staff.ev.not_now", status=ctx.t(f"staff.ev.status.{event.status}")))
            return
        await ctx.storage.staff.record(
            actor=role.actor,
            role=role.role,
            action="event.time",
            target=f"event:{event.id}",
            detail=f"{span[0].isoformat()} ({result.notified} told)",
            now=ctx.now,
        )
        _end(ctx)
        ctx.say(ctx.t("staff.ev.rescheduled", count=result.notified))
        await _show(ctx, role, await ctx.storage.events.get(event_id=event.id))
        return
    if field == "place":
        if not 1 <= len(text) <= PLACE_MAX:
            ctx.say(ctx.t("staff.ev.bad_length", min=1, max=PLACE_MAX))
            return
        value = text
    elif field == "capacity":
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
    try:
        promoted = await ctx.storage.staff_events.update(
            event_id=event.id,
            field=str(field),
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


async def _cancel_event(ctx: Context, role: StaffRole, event: Event, *, note: str | None) -> None:
    _end(ctx)
    try:
        result = await ctx.storage.registrations.cancel_event(event_id=event.id, now=ctx.now)
    except RegistrationClosed:
        ctx.say(ctx.t("staff.ev.not_now", status=ctx.t(f"staff.ev.status.{event.status}")))
        return
    await ctx.storage.staff.record(
        actor=role.actor,
        role=role.role,
        action="event.cancel",
        target=f"event:{event.id}",
        detail=f"{result.notified} told" + (" + note" if note else ""),
        now=ctx.now,
    )
    if note:
        # The librarian's own words follow the standard cancellation notice, as an event
        # message to the registrants (they get it even if they stopped announcements).
        audience = Audience("registrants", event_id=event.id)
        bodies = {
            language: json.dumps(
                {
                    "text": await resident_text(ctx, role, note, audience, language),
                    "choices": [],
                },
                ensure_ascii=False,
            )
            for language in ("id", "en")
        }
        # An event nobody registered for has nobody to tell: EmptyAudience is no error here.
        with contextlib.suppress(EmptyAudience):
            await ctx.storage.broadcasts.create(
                author=role.actor,
                author_role=role.role,
                author_channel=ctx.incoming.channel,
                author_recipient=ctx.incoming.user_id,
                author_language=ctx.language,
                text=note,
                photo=None,
                audience=audience,
                due_at=ctx.now,
                bodies=bodies,
                now=ctx.now,
            )
    ctx.say(ctx.t("staff.ev.cancelled", title=event.title, count=result.notified))
