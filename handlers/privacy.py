"""The resident's rights under UU PDP No. 27/2022: see, delete, withdraw, stop announcements."""

from __future__ import annotations

from handlers import registration
from handlers.common import expired, main_menu
from handlers.onboarding import ask_regency, show_consent
from handlers.types import Context


async def show_notice(ctx: Context) -> None:
    """/privasi: the notice, and the way to agree for someone who declined before."""
    if ctx.has_profile:
        ctx.say(
            ctx.t("privacy.notice_short"),
            ctx.choice("privacy.my_data", "mydata"),
            ctx.choice("privacy.delete", "del?"),
            ctx.choice("common.menu", "menu"),
        )
        return
    ctx.session.state.update(flow="onboarding", step="consent")
    show_consent(ctx)


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
    """/hapusdata: ask once more; deletion cannot be undone."""
    if not ctx.has_profile:
        ctx.say(
            ctx.t("privacy.nothing_stored", channel=ctx.incoming.channel),
            ctx.choice("common.menu", "menu"),
        )
        return
    ctx.session.state.update(flow="delete", step="confirm")
    ctx.say(
        ctx.t("privacy.delete_confirm"),
        ctx.choice("privacy.delete_yes", "del:yes"),
        ctx.choice("privacy.delete_no", "del:no"),
    )


async def delete(ctx: Context, arg: str) -> None:
    if ctx.session.flow != "delete" or arg not in ("yes", "no") or ctx.resident is None:
        expired(ctx)
        return
    ctx.session.state.pop("flow", None)
    ctx.session.state.pop("step", None)
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
    )
    await ctx.storage.residents.delete_personal_data(resident_id=ctx.resident.id)
    # The conversation keeps only the language chosen (the dispatcher adds the menu's choices).
    language = ctx.session.state.get("lang")
    ctx.session.state.clear()
    if language is not None:
        ctx.session.state["lang"] = language
    ctx.resident = await ctx.storage.residents.get(resident_id=ctx.resident.id)
    main_menu(ctx, "privacy.deleted")


async def stop_announcements(ctx: Context) -> None:
    """/berhenti: no more announcements; reminders for registered events are separate."""
    if ctx.resident is None:
        ctx.say(ctx.t("privacy.stop_nothing"), ctx.choice("common.menu", "menu"))
        return
    ctx.resident = await ctx.storage.residents.set_announcements_off(
        resident_id=ctx.resident.id, off=True
    )
    ctx.say(
        ctx.t("privacy.stopped"),
        ctx.choice("privacy.resume", "ann:on"),
        ctx.choice("common.menu", "menu"),
    )


async def resume_announcements(ctx: Context, arg: str) -> None:
    if ctx.resident is None or arg != "on":
        expired(ctx)
        return
    ctx.resident = await ctx.storage.residents.set_announcements_off(
        resident_id=ctx.resident.id, off=False
    )
    main_menu(ctx, "privacy.resumed")
