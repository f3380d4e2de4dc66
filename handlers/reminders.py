"""/pengingat (/reminders) and the answers to a reminder's buttons.

Payloads: `rmd:ok:<registration>` (still coming), `rmd:no:<registration>` (asks to confirm),
`rmd:cx:<registration>` (confirmed cancel), `rmd:on` / `rmd:off` (the switch), `rmd:keep`.

```mermaid
stateDiagram-v2
    [*] --> confirm: /pengingat (shows the current setting)
    confirm --> [*]: rmd:off / rmd:on ("ya") -> switched
    confirm --> [*]: rmd:keep ("tidak") -> unchanged
    confirm --> confirm: anything else (hint, asked again)
```
"""

from __future__ import annotations

from handlers import steps
from handlers.common import expired, main_menu
from handlers.steps import Accepts, Step
from handlers.types import Context
from storage.errors import StorageError


async def toggle(ctx: Context) -> None:
    """/pengingat: say how it is now, and ask before changing it."""
    if ctx.resident is None:
        ctx.say(ctx.t("reminders.need_start"), ctx.choice("common.menu", "menu"))
        return
    steps.start(ctx, FLOW, "confirm")
    await _ask(ctx)


async def _ask(ctx: Context) -> None:
    assert ctx.resident is not None
    off = await ctx.storage.reminders.reminders_off(resident_id=ctx.resident.id)
    state, ask = ("state_off", "ask_on") if off else ("state_on", "ask_off")
    ctx.say(
        ctx.t(f"reminders.{state}") + "\n\n" + ctx.t(f"reminders.{ask}"),
        ctx.choice(
            "reminders.confirm_on" if off else "reminders.confirm_off",
            "rmd:on" if off else "rmd:off",
            means="yes",
        ),
        ctx.choice("reminders.keep", "rmd:keep", means="no"),
    )


async def _set(ctx: Context, off: bool) -> None:
    assert ctx.resident is not None
    await ctx.storage.reminders.set_reminders_off(resident_id=ctx.resident.id, off=off, now=ctx.now)
    if off:
        ctx.say(
            ctx.t("reminders.turned_off"),
            ctx.choice("reminders.turn_on", "rmd:on"),
            ctx.choice("common.menu", "menu"),
        )
    else:
        ctx.say(
            ctx.t("reminders.turned_on"),
            ctx.choice("reminders.turn_off", "rmd:off"),
            ctx.choice("common.menu", "menu"),
        )


async def answer(ctx: Context, arg: str) -> None:
    action, _, ident = arg.partition(":")
    if ctx.resident is None:
        expired(ctx)
        return
    if action in ("on", "off") and not ident:
        if ctx.session.flow == FLOW.name:
            steps.end(ctx)
        await _set(ctx, action == "off")
        return
    if action == "keep" and not ident:
        steps.end(ctx)
        off = await ctx.storage.reminders.reminders_off(resident_id=ctx.resident.id)
        main_menu(ctx, "reminders.kept_off" if off else "reminders.kept_on")
        return
    if not ident.isdigit() or action not in ("ok", "no", "cx"):
        expired(ctx)
        return
    registration_id = int(ident)
    if action == "ok":
        ctx.say(ctx.t("reminders.thanks"), ctx.choice("common.menu", "menu"))
    elif action == "no":
        ctx.say(
            ctx.t("reminders.cancel_confirm"),
            ctx.choice("reminders.cancel_yes", f"rmd:cx:{registration_id}", means="yes"),
            ctx.choice("reminders.cancel_no", f"rmd:ok:{registration_id}", means="no"),
        )
    elif await cancel_registration_from_reminder(ctx, registration_id):
        main_menu(ctx, "reminders.cancelled")
    else:
        ctx.say(ctx.t("reminders.cancel_unavailable"), ctx.choice("common.menu", "menu"))


async def cancel_registration_from_reminder(ctx: Context, registration_id: int) -> bool:
    """The one place that connects the reminder's "Batal" to the registration issue: cancel
    through the registration repository, which frees the seat, promotes the waitlist and (by
    calling `Reminders.cancel_for_registration` in its transaction) drops the other reminders.
    The repository checks that the registration belongs to this resident.

    The registrations repository is not on this branch; until it is, this returns False and the
    person is told to contact the library. Adapt the call below to its real signature."""
    registrations = getattr(ctx.storage, "registrations", None)
    if registrations is None or ctx.resident is None:
        return False
    # Merge fix (staff branch): the repository's real signature, and its refusals (not theirs,
    # already cancelled, event started) answered as "cannot cancel from here".
    try:
        await registrations.cancel(
            resident_id=ctx.resident.id, registration_id=registration_id, now=ctx.now
        )
    except StorageError:
        return False
    return True


FLOW = steps.register(
    steps.Flow(
        "remind",
        steps={"confirm": Step(Accepts.CHOICE, ask=_ask, hint="steps.hint_yes_no")},
        payloads=frozenset({"rmd"}),
    )
)
