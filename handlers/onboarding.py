"""First contact: language, privacy notice and consent, home regency.

States (kept in the sessions table, so a restart mid-way resumes; every step takes a tap or the
typed choice, loosely: "indonesia", "iya", "setuju", "kab kupang", "TTS"; anything else re-asks):

```mermaid
stateDiagram-v2
    [*] --> language: /start
    language --> consent: lang:<code>
    consent --> regency: consent:yes (profile created)
    consent --> [*]: consent:no (browse only, nothing stored)
    regency --> regency: "kupang" (which one? city or regency)
    regency --> event: home:<code>, came from an event's Daftar (draft.then_event)
    regency --> [*]: home:<code> (main menu)
```

`/bahasa` is its own one-step flow ("language"); `/privasi` for someone who declined enters this
flow at `consent`, carrying the event they were looking at, if any.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers import events, steps
from handlers.common import expired, main_menu
from handlers.steps import Accepts, Step
from handlers.types import Choice, Context

LANGUAGES = (("id", "Bahasa Indonesia"), ("en", "English"))


@dataclass
class OnboardingDraft:
    # The event whose Daftar sent the person to the privacy notice: shown again at the end.
    then_event: int | None = None


async def start(ctx: Context) -> None:
    if ctx.has_profile:
        main_menu(ctx, "onboarding.welcome_back")
        return
    steps.start(ctx, FLOW, "language")
    _ask_language(ctx, "onboarding.welcome")


async def ask_language(ctx: Context) -> None:
    """/bahasa: change language at any time, outside onboarding."""
    steps.start(ctx, LANGUAGE_FLOW, "language")
    _ask_language(ctx, "onboarding.choose_language")


def _ask_language(ctx: Context, key: str) -> None:
    ctx.say(
        ctx.t(key),
        *(Choice(label, f"lang:{code}", means=f"lang:{code}") for code, label in LANGUAGES),
    )


async def _reask_language(ctx: Context) -> None:
    _ask_language(ctx, "onboarding.choose_language")


async def choose_language(ctx: Context, arg: str) -> None:
    if arg not in dict(LANGUAGES) or ctx.session.step != "language":
        expired(ctx)
        return
    ctx.language = arg
    ctx.session.state["lang"] = arg
    if ctx.resident is not None:
        ctx.resident = await ctx.storage.residents.set_language(
            resident_id=ctx.resident.id, language=arg, now=ctx.now
        )
    if ctx.session.flow != FLOW.name or ctx.has_profile:
        steps.end(ctx)
        main_menu(ctx, "onboarding.language_set")
        return
    steps.goto(ctx, "consent")
    show_consent(ctx)


def show_consent(ctx: Context) -> None:
    ctx.say(
        notice(ctx),
        ctx.choice("onboarding.agree", "consent:yes", means="yes"),
        ctx.choice("onboarding.decline", "consent:no", means="no"),
    )


def notice(ctx: Context) -> str:
    """The privacy notice, whole where one message of the channel holds it; else (SMS: three
    segments, each paid for) the brief notice written to fit, which says what is kept and why
    and how to see and delete it and where to read the whole notice. Cutting the whole one
    would hide part of a legal notice."""
    whole = ctx.t("privacy.notice")
    if len(whole) <= ctx.incoming.capabilities.max_text:
        return whole
    return ctx.t("privacy.notice_brief")


async def _reask_consent(ctx: Context) -> None:
    show_consent(ctx)


def ask_consent(ctx: Context, then_event: int | None = None) -> None:
    """The notice for someone without a profile; agreeing leads back to `then_event`."""
    steps.start(ctx, FLOW, "consent", OnboardingDraft(then_event=then_event))
    show_consent(ctx)


async def consent(ctx: Context, arg: str) -> None:
    if ctx.session.step != "consent" or arg not in ("yes", "no"):
        expired(ctx)
        return
    if arg == "no":
        steps.end(ctx)
        main_menu(ctx, "onboarding.declined")
        return
    resident = await ctx.storage.residents.ensure(
        channel=ctx.incoming.channel,
        external_id=ctx.incoming.user_id,
        language=ctx.language,
        now=ctx.now,
    )
    ctx.resident = await ctx.storage.residents.give_consent(resident_id=resident.id, now=ctx.now)
    steps.goto(ctx, "regency")
    await ask_regency(ctx, "onboarding.choose_regency")


async def ask_regency(ctx: Context, key: str = "onboarding.choose_regency") -> None:
    regencies = await ctx.storage.libraries.regencies()
    ctx.say(
        ctx.t(key),
        *(Choice(r.name, f"home:{r.code}", means=f"place:{r.code}") for r in regencies),
    )


async def _reask_regency(ctx: Context) -> None:
    await ask_regency(ctx)


async def choose_regency(ctx: Context, arg: str) -> None:
    if ctx.resident is None or not ctx.resident.has_consent:
        expired(ctx)
        return
    codes = {r.code for r in await ctx.storage.libraries.regencies()}
    if arg not in codes:
        expired(ctx)
        return
    ctx.resident = await ctx.storage.residents.set_regency(
        resident_id=ctx.resident.id, regency_code=arg, now=ctx.now
    )
    draft = steps.load_draft(ctx, FLOW, OnboardingDraft)
    steps.end(ctx)
    regency = await ctx.storage.libraries.regency(code=arg)
    ctx.say(ctx.t("onboarding.regency_set", regency=regency.name))
    if draft is not None and draft.then_event is not None:
        await events.show_one(ctx, str(draft.then_event))
        return
    main_menu(ctx)


FLOW = steps.register(
    steps.Flow(
        "onboarding",
        steps={
            "language": Step(Accepts.CHOICE, ask=_reask_language),
            "consent": Step(Accepts.CHOICE, ask=_reask_consent, hint="steps.hint_yes_no"),
            "regency": Step(Accepts.CHOICE, ask=_reask_regency, hint="steps.hint_regency"),
        },
        payloads=frozenset({"lang", "consent", "home"}),
    )
)
LANGUAGE_FLOW = steps.register(
    steps.Flow(
        "language",
        steps={"language": Step(Accepts.CHOICE, ask=_reask_language)},
        payloads=frozenset({"lang"}),
    )
)
