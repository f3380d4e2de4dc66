"""Cancelling an event, with a confirmation, and restoring it until it starts.

    ❌ Batalkan acara ─> with a note | without a note | keep
        with a note ─> note typed ─┐
        without ───────────────────┴─> "Ya, batalkan acara" | change the note | keep
    ♻️ Pulihkan acara (cancelled, not started) ─> "Ya, pulihkan" | back

Every step that waits for typing takes a no-word ("tidak", "sonde", "jangan", "batal"...) as
"keep the event": the one answer that must never cancel by accident. Anything else typed at a
confirmation re-asks it; only the button (or its exact words) cancels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from handlers import steps
from handlers.common import clip
from handlers.staff.broadcast import resident_text
from handlers.staff.nav import nav
from handlers.types import Choice, Context
from handlers.understand import bare_no, says_no
from storage.broadcasts import Audience
from storage.models import Event
from storage.registrations import EventCancelled, RegistrationClosed
from storage.staff import StaffRole
from storage.staff_events import CancelNote, NotRestorable

FLOW = "sev"
NOTE_MIN, NOTE_MAX = 5, 500


@dataclass
class EditDraft:
    """The answers of flow "sev" (handlers/staff/events.py): the event, the field being changed
    and its new value ([start, end] ISO times, or a place) awaiting confirmation, or the note of
    a cancellation."""

    event: int
    field: str | None = None
    new: list[str] | str | None = None
    note: str | None = None


def edit_draft(ctx: Context) -> EditDraft | None:
    flow = steps.FLOWS.get(FLOW)
    return None if flow is None else steps.load_draft(ctx, flow, EditDraft)


def _start(ctx: Context, step: str, draft: EditDraft) -> None:
    steps.start(ctx, steps.FLOWS[FLOW], step, draft)


def _end(ctx: Context) -> None:
    if ctx.session.flow == FLOW:
        steps.end(ctx)


def _keep_choice(ctx: Context, event: Event) -> Choice:
    return ctx.choice("staff_safety.cancel.keep", f"sev:k:{event.id}")


async def ask(ctx: Context, event: Event) -> None:
    """sev:x — how to cancel."""
    counts = await ctx.storage.staff_events.counts(event_id=event.id, now=ctx.now)
    _start(ctx, "cancel_choice", EditDraft(event.id))
    ctx.say(
        ctx.t(
            "staff_safety.cancel.ask",
            title=event.title,
            count=counts.confirmed + counts.waitlisted,
        ),
        ctx.choice("staff_safety.cancel.with_note", f"sev:xm:{event.id}"),
        ctx.choice("staff_safety.cancel.without_note", f"sev:xn:{event.id}"),
        _keep_choice(ctx, event),
    )


def ask_note(ctx: Context, event: Event) -> None:
    """sev:xm — type the note."""
    _start(ctx, "cancel_note", EditDraft(event.id))
    ctx.say(
        ctx.t("staff_safety.cancel.ask_note", min=NOTE_MIN, max=NOTE_MAX),
        _keep_choice(ctx, event),
    )


def confirm(ctx: Context, event: Event, note: str | None) -> None:
    """The last question before anything happens, with the note as registrants will read it."""
    _start(ctx, "cancel_confirm", EditDraft(event.id, note=note))
    if note:
        text = ctx.t("staff_safety.cancel.confirm_note", title=event.title, note=note)
    else:
        text = ctx.t("staff_safety.cancel.confirm_plain", title=event.title)
    choices = [ctx.choice("staff_safety.cancel.yes", f"sev:xy:{event.id}")]
    choices.append(
        ctx.choice(
            "staff_safety.cancel.change_note" if note else "staff_safety.cancel.with_note",
            f"sev:xm:{event.id}",
        )
    )
    choices.append(_keep_choice(ctx, event))
    ctx.say(text, *choices)


def _draft_for(ctx: Context, event: Event) -> EditDraft | None:
    draft = edit_draft(ctx)
    return draft if draft is not None and draft.event == event.id else None


async def keep(ctx: Context, event: Event) -> bool:
    """sev:k or a typed no: nothing changes. Returns True (the caller shows the event)."""
    _end(ctx)
    ctx.say(ctx.t("staff_safety.cancel.kept", title=event.title))
    return True


async def typed(ctx: Context, role: StaffRole, event: Event) -> bool:
    """Typing at a cancellation step; True when the event should be shown again (kept)."""
    text = " ".join(ctx.incoming.text.split())
    step = ctx.session.step
    # At the note, a sentence with "tidak" in it is the note; a short no keeps the event.
    if bare_no(text) if step == "cancel_note" else says_no(text):
        return await keep(ctx, event)
    if step == "cancel_note":
        if not NOTE_MIN <= len(text) <= NOTE_MAX:
            ctx.say(
                ctx.t("staff.ev.bad_length", min=NOTE_MIN, max=NOTE_MAX), _keep_choice(ctx, event)
            )
            return False
        confirm(ctx, event, ctx.incoming.text.strip())
        return False
    draft = _draft_for(ctx, event)
    if step == "cancel_confirm":
        ctx.say(ctx.t("staff_safety.cancel.tap_to_confirm"))
        confirm(ctx, event, draft.note if draft is not None else None)
        return False
    # cancel_choice: anything but a no asks again
    ctx.say(ctx.t("staff_safety.cancel.choose"))
    await ask(ctx, event)
    return False


async def do_cancel(ctx: Context, role: StaffRole, event: Event) -> bool:
    """sev:xy — the confirmed cancellation. False when it was not the step's (expired)."""
    draft = _draft_for(ctx, event)
    if draft is None or ctx.session.step != "cancel_confirm":
        return False
    note = draft.note or None
    _end(ctx)
    try:
        # The cancellation, the registrants' notices, the note and the audit: one transaction.
        told = await ctx.storage.staff_events.cancel(
            event_id=event.id,
            note=note,
            actor=role.actor,
            role=role.role,
            now=ctx.now,
            note_message=await _note_message(ctx, role, event, note) if note else None,
        )
    except (RegistrationClosed, EventCancelled):
        ctx.say(ctx.t("staff.ev.not_now", status=ctx.t(f"staff.ev.status.{event.status}")))
        return True
    ctx.say(ctx.t("staff.ev.cancelled", title=event.title, count=told))
    return True


async def _note_message(ctx: Context, role: StaffRole, event: Event, note: str) -> CancelNote:
    """The librarian's own words as registrants will read them, in each language."""
    audience = Audience("registrants", event_id=event.id)
    bodies = {
        language: json.dumps(
            {"text": await resident_text(ctx, role, note, audience, language), "choices": []},
            ensure_ascii=False,
        )
        for language in ("id", "en")
    }
    return CancelNote(
        author_channel=ctx.incoming.channel,
        author_recipient=ctx.incoming.user_id,
        author_language=ctx.language,
        bodies=bodies,
    )


def restorable(ctx: Context, event: Event) -> bool:
    return event.status == "cancelled" and ctx.now < event.starts_at


async def ask_restore(ctx: Context, event: Event) -> None:
    """sev:r — what restoring does, and the confirmation."""
    last = await ctx.storage.staff_events.last_cancellation(event_id=event.id)
    if last is None or not restorable(ctx, event):
        ctx.say(ctx.t("staff_safety.restore.not_possible"), *nav(ctx, f"sev:e:{event.id}"))
        return
    counts = await ctx.storage.staff_events.counts(event_id=event.id, now=ctx.now)
    ctx.say(
        ctx.t(
            "staff_safety.restore.ask",
            title=clip(event.title, 80),
            status=ctx.t(f"staff.ev.status.{last.previous_status}"),
            confirmed=counts.confirmed,
            waitlisted=counts.waitlisted,
        ),
        ctx.choice("staff_safety.restore.yes", f"sev:ry:{event.id}"),
        *nav(ctx, f"sev:e:{event.id}"),
    )


async def do_restore(ctx: Context, role: StaffRole, event: Event) -> None:
    """sev:ry"""
    try:
        told = await ctx.storage.staff_events.restore(
            event_id=event.id, actor=role.actor, role=role.role, now=ctx.now
        )
    except NotRestorable:
        ctx.say(ctx.t("staff_safety.restore.not_possible"))
        return
    ctx.say(ctx.t("staff_safety.restore.done", title=event.title, count=told))
