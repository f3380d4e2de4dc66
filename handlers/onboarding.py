"""First contact: language, privacy notice and consent, home regency.

States (kept in the sessions table, so a restart mid-way resumes):

    /start ──> language ──> consent ──agree──> regency ──> main menu
                              └─decline─> main menu (browse only, no profile stored)
"""

from __future__ import annotations

from handlers.common import expired, main_menu
from handlers.types import Choice, Context

FLOW = "onboarding"
LANGUAGES = (("id", "Bahasa Indonesia"), ("en", "English"))


async def start(ctx: Context) -> None:
    if ctx.has_profile:
        main_menu(ctx, "onboarding.welcome_back")
        return
    ctx.session.state.update(flow=FLOW, step="language")
    _ask_language(ctx, "onboarding.welcome")


async def ask_language(ctx: Context) -> None:
    """/bahasa: change language at any time, outside onboarding."""
    ctx.session.state.update(flow="language", step="language")
    _ask_language(ctx, "onboarding.choose_language")


def _ask_language(ctx: Context, key: str) -> None:
    ctx.say(ctx.t(key), *(Choice(label, f"lang:{code}") for code, label in LANGUAGES))


async def choose_language(ctx: Context, arg: str) -> None:
    if arg not in dict(LANGUAGES) or ctx.session.step != "language":
        expired(ctx)
        return
    ctx.language = arg
    ctx.session.state["lang"] = arg
    if ctx.resident is not None:
        ctx.resident = await ctx.storage.residents.set_language(
            resident_id=ctx.resident.id, language=arg
        )
    if ctx.session.flow != FLOW or ctx.has_profile:
        ctx.session.state.pop("flow", None)
        ctx.session.state.pop("step", None)
        main_menu(ctx, "onboarding.language_set")
        return
    ctx.session.state["step"] = "consent"
    show_consent(ctx)


def show_consent(ctx: Context) -> None:
    ctx.say(
        ctx.t("privacy.notice"),
        ctx.choice("onboarding.agree", "consent:yes"),
        ctx.choice("onboarding.decline", "consent:no"),
    )


async def consent(ctx: Context, arg: str) -> None:
    if ctx.session.step != "consent" or arg not in ("yes", "no"):
        expired(ctx)
        return
    if arg == "no":
        ctx.session.state.pop("flow", None)
        ctx.session.state.pop("step", None)
        main_menu(ctx, "onboarding.declined")
        return
    resident = await ctx.storage.residents.ensure(
        channel=ctx.incoming.channel, external_id=ctx.incoming.user_id, language=ctx.language
    )
    ctx.resident = await ctx.storage.residents.give_consent(resident_id=resident.id, now=ctx.now)
    ctx.session.state.update(flow=FLOW, step="regency")
    await ask_regency(ctx, "onboarding.choose_regency")


async def ask_regency(ctx: Context, key: str = "onboarding.choose_regency") -> None:
    regencies = await ctx.storage.libraries.regencies()
    ctx.say(ctx.t(key), *(Choice(r.name, f"home:{r.code}") for r in regencies))


async def choose_regency(ctx: Context, arg: str) -> None:
    if ctx.resident is None or not ctx.resident.has_consent:
        expired(ctx)
        return
    codes = {r.code for r in await ctx.storage.libraries.regencies()}
    if arg not in codes:
        expired(ctx)
        return
    ctx.resident = await ctx.storage.residents.set_regency(
        resident_id=ctx.resident.id, regency_code=arg
    )
    ctx.session.state.pop("flow", None)
    ctx.session.state.pop("step", None)
    regency = await ctx.storage.libraries.regency(code=arg)
    ctx.say(ctx.t("onboarding.regency_set", regency=regency.name))
    main_menu(ctx)
