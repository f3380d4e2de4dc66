"""The resident's rights under UU PDP No. 27/2022: see, delete, withdraw, stop announcements.

Deleting is a one-step flow ("delete"): it lists what will be cancelled, then asks.

```mermaid
stateDiagram-v2
    [*] --> confirm: /hapusdata (lists own and proxy registrations to be cancelled)
    confirm --> [*]: del:yes ("ya", "iya", "hapus") -> deleted
    confirm --> [*]: del:no ("tidak", "sonde") -> kept
    confirm --> confirm: anything else (hint, asked again)
```
"""

from __future__ import annotations

from handlers import registration, steps
from handlers.common import clip, expired, main_menu
from handlers.onboarding import ask_consent, ask_regency
from handlers.steps import Accepts, Step
from handlers.types import Context


async def show_notice(ctx: Context, arg: str = "") -> None:
    """/privasi: the notice, and the way to agree for someone who declined before; `privacy:<id>`
    (from an event's Daftar) brings them back to that event once they agree."""
    if ctx.has_profile:
        ctx.say(
            ctx.t("privacy.notice_short"),
            ctx.choice("privacy.my_data", "mydata"),
            ctx.choice("privacy.delete", "del?"),
            ctx.choice("common.menu", "menu"),
        )
        return
    ask_consent(ctx, int(arg) if arg.isdigit() else None)


async def my_data(ctx: Context) -> None:
    """/datasaya: everything stored about this person, in plain words."""
    resident = ctx.resident
    if resident is None or not resident.has_consent:
        ctx.say(
            ctx.t("privacy.nothing_stored", channel=ctx.incoming.channel),
            ctx.choice("common.menu", "menu"),
        )
        return
    regency = "-"
    if resident.regency_code:
        regency = (await ctx.storage.libraries.regency(code=resident.regency_code)).name
    assert resident.consent_at is not None
    ctx.say(
        ctx.t(
            "privacy.stored",
            channel=resident.channel,
            user_id=resident.external_id,
            language=ctx.t(f"language.{resident.language}"),
            consent=ctx.when(resident.consent_at),
            name=resident.name or "-",
            regency=regency,
            announcements=ctx.t(
                "privacy.announcements_off"
                if resident.announcements_off
                else "privacy.announcements_on"
            ),
        )
        + await registration.stored_data(ctx, resident.id),
        ctx.choice("privacy.change_regency", "home?"),
        ctx.choice("privacy.delete", "del?"),
        ctx.choice("common.menu", "menu"),
    )


async def change_regency(ctx: Context) -> None:
    if not ctx.has_profile:
        expired(ctx)
        return
    await ask_regency(ctx)


async def ask_delete(ctx: Context) -> None:
    """/hapusdata: say what will be cancelled, and ask once more; it cannot be undone."""
    if not ctx.has_profile or ctx.resident is None:
        ctx.say(
            ctx.t("privacy.nothing_stored", channel=ctx.incoming.channel),
            ctx.choice("common.menu", "menu"),
        )
        return
    steps.start(ctx, DELETE_FLOW, "confirm")
    await _ask_delete(ctx)


async def _ask_delete(ctx: Context) -> None:
    assert ctx.resident is not None
    upcoming = await ctx.storage.registrations.upcoming(resident_id=ctx.resident.id, now=ctx.now)
    live = [r for r in upcoming if r.event_status != "cancelled" and r.attended_at is None]
    text = ctx.t("privacy.delete_confirm")
    if live:
        items = [
            ctx.t(
                "privacy.delete_item",
                title=clip(r.event_title, 50),
                when=ctx.when(r.event_starts_at),
                name=r.name or "-",
            )
            for r in live[:8]
        ]
        if len(live) > 8:
            items.append(ctx.t("reg.my_more", count=len(live) - 8))
        text += "\n\n" + ctx.t("privacy.delete_cancels", items="\n".join(items))
    ctx.say(
        text,
        ctx.choice("privacy.delete_yes", "del:yes", means="yes"),
        ctx.choice("privacy.delete_no", "del:no", means="no"),
    )


async def delete(ctx: Context, arg: str) -> None:
    if ctx.session.flow != DELETE_FLOW.name or arg not in ("yes", "no") or ctx.resident is None:
        expired(ctx)
        return
    steps.end(ctx)
    if arg == "no":
        main_menu(ctx, "privacy.delete_kept")
        return
    # Upcoming registrations are cancelled (seats go to the waitlist) and past ones anonymised.
    await ctx.storage.registrations.forget_resident(resident_id=ctx.resident.id, now=ctx.now)
    # Outbox rows, WhatsApp lists, SMS ledger, audit references (storage/privacy.py says what
    # stays); before the profile goes, since it names the SMS number to look for.
    role = await ctx.storage.staff.role_of(
        channel=ctx.incoming.channel, external_id=ctx.incoming.user_id
    )
    await ctx.storage.privacy.forget_identity(
        channel=ctx.incoming.channel,
        external_id=ctx.incoming.user_id,
        resident_id=ctx.resident.id,
        username=str(ctx.session.state.get("username") or "") or None,
        keep_staff_records=role is not None,
        now=ctx.now,
    )
    await ctx.storage.residents.delete_personal_data(resident_id=ctx.resident.id, now=ctx.now)
    # The conversation keeps only the language chosen (the dispatcher adds the menu's choices).
    language = ctx.session.state.get("lang")
    ctx.session.state.clear()
    if language is not None:
        ctx.session.state["lang"] = language
    ctx.resident = await ctx.storage.residents.get(resident_id=ctx.resident.id)
    main_menu(ctx, "privacy.deleted")


async def _announcements_of(ctx: Context) -> int | None:
    """Whose announcements this person switches: their own, or, for an SMS from a chat
    resident's verified number (answering an announcement's SMS copy), that resident's."""
    if ctx.resident is not None:
        return ctx.resident.id
    if ctx.incoming.channel == "sms":
        return await ctx.storage.sms.owner_of(phone=ctx.incoming.user_id)
    return None


async def _switch_announcements(ctx: Context, resident_id: int, *, off: bool) -> None:
    switched = await ctx.storage.residents.set_announcements_off(
        resident_id=resident_id, off=off, now=ctx.now
    )
    if ctx.resident is not None:
        ctx.resident = switched


async def stop_announcements(ctx: Context) -> None:
    """/berhenti: no more announcements; reminders for registered events are separate."""
    resident_id = await _announcements_of(ctx)
    if resident_id is None:
        ctx.say(ctx.t("privacy.stop_nothing"), ctx.choice("common.menu", "menu"))
        return
    await _switch_announcements(ctx, resident_id, off=True)
    ctx.say(
        ctx.t("privacy.stopped"),
        ctx.choice("privacy.resume", "ann:on"),
        ctx.choice("common.menu", "menu"),
    )


async def resume_announcements(ctx: Context, arg: str) -> None:
    resident_id = await _announcements_of(ctx)
    if resident_id is None or arg != "on":
        expired(ctx)
        return
    await _switch_announcements(ctx, resident_id, off=False)
    main_menu(ctx, "privacy.resumed")


DELETE_FLOW = steps.register(
    steps.Flow(
        "delete",
        steps={"confirm": Step(Accepts.CHOICE, ask=_ask_delete, hint="steps.hint_yes_no")},
        payloads=frozenset({"del"}),
    )
)
