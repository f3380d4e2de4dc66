"""/peran, /beriperan, /cabutperan, /audit: who may do what, and what they did.

Naming a person: a user id (`123456789`, or `whatsapp:+62...`), an `@username` of someone who has
written to the bot, or a forwarded message from them (sent on its own while the bot asks "who?",
or answered with /beriperan). Granting, when parts are missing, asks with buttons (flow
"grant", draft `GrantDraft`); revoking asks which role and confirms (flow "revoke", draft
`RevokeDraft`). Both are handlers/steps.py flows: an answer that does not fit asks the same
question again, the person named so far kept.

```mermaid
stateDiagram-v2
    [*] --> who: /beriperan (nobody named)
    [*] --> choose: /beriperan <who> [role]
    who --> choose: typed id / @username / forwarded message
    choose --> choose: srg:r:<role>, srg:lr:<regency> (role, then scope)
    choose --> [*]: srg:s:<regency or *> | srg:l:<library> | admin -> granted
    who --> who: not a person (hint, asked again)
    choose --> choose: anything else (hint, asked again)
```

```mermaid
stateDiagram-v2
    [*] --> who: /cabutperan (nobody named)
    [*] --> confirm: /cabutperan <who> [role]
    who --> confirm: typed id / @username / forwarded message
    confirm --> confirm: srv:r:<role> (which one, when several)
    confirm --> [*]: srv:y:<role> -> revoked | srv:k or "tidak" -> kept
    confirm --> confirm: anything else (hint, asked again)
```
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers import steps
from handlers.common import clip, expired, page_count, pager, parse_page, typed_choice
from handlers.phone_numbers import NotAPhoneNumber, normalise_phone
from handlers.staff import access, audit_text
from handlers.staff.access import OutOfScope
from handlers.staff.nav import nav
from handlers.staff.when import parse_day
from handlers.steps import Accepts, Step
from handlers.types import Choice, Context
from handlers.understand import says_no
from storage.errors import NotFound
from storage.staff import ROLES, LastAdmin, StaffRole

GRANT_FLOW = "grant"
REVOKE_FLOW = "revoke"
# What admins may type for a role, in both languages.
ROLE_WORDS = {
    "admin": "admin",
    "coordinator": "coordinator",
    "koordinator": "coordinator",
    "librarian": "librarian",
    "pustakawan": "librarian",
}
ALL_WORDS = ("all", "semua", "provinsi", "province")


@dataclass
class GrantDraft:
    target: str = ""  # "<channel>:<external id>"
    role: str | None = None
    regency: str | None = None
    library: int | None = None


@dataclass
class RevokeDraft:
    target: str = ""
    role: str | None = None


def _grant_draft(ctx: Context) -> GrantDraft | None:
    return steps.load_draft(ctx, GRANT, GrantDraft)


def _revoke_draft(ctx: Context) -> RevokeDraft | None:
    return steps.load_draft(ctx, REVOKE, RevokeDraft)


async def describe(ctx: Context, role: StaffRole) -> str:
    if role.role == "librarian":
        scope = role.library_name or "?"
    elif role.regency_code is not None:
        scope = (await ctx.storage.libraries.regency(code=role.regency_code)).name
    else:
        scope = ctx.t("staff.roles.province")
    return ctx.t("staff.roles.line", role=ctx.t(f"staff.role.{role.role}"), scope=scope)


# The staff commands each role opens, as buttons under /peran (they are kept out of the public
# command menu, and a phone user should not have to remember them). Router names, Indonesian.
ROLE_COMMANDS = {
    "admin": (
        "siaran",
        "siaranku",
        "acarabaru",
        "kelolaacara",
        "peserta",
        "ekspor",
        "statistik",
        "beriperan",
        "cabutperan",
        "audit",
    ),
    "coordinator": (
        "acarabaru",
        "kelolaacara",
        "siaran",
        "siaranku",
        "peserta",
        "ekspor",
        "statistik",
    ),
    "librarian": ("acarabaru", "kelolaacara", "siaran", "siaranku", "peserta", "ekspor"),
}


async def show_roles(ctx: Context, role: StaffRole) -> None:
    """/peran: one's own roles and their commands as buttons; admins also see everyone's."""
    if role.role == "admin":
        await _list(ctx, 0)
    held = await ctx.storage.staff.roles_of(channel=role.channel, external_id=role.external_id)
    described = "; ".join([await describe(ctx, r) for r in held] or [await describe(ctx, role)])
    names = dict.fromkeys(name for r in held or [role] for name in ROLE_COMMANDS[r.role])
    ctx.say(
        ctx.t("staff.roles.yours", role=described) + "\n" + ctx.t("staff.roles.commands_title"),
        *(ctx.choice(f"staff.menu.{name}", f"stc:{name}") for name in names),
    )


async def list_page(ctx: Context, role: StaffRole, arg: str) -> None:
    if role.role != "admin":
        raise OutOfScope(arg)
    try:
        page = parse_page(arg)
    except ValueError:
        expired(ctx)
        return
    await _list(ctx, page)


async def _list(ctx: Context, page: int) -> None:
    size = 20
    roles, total = await ctx.storage.staff.roles(offset=page * size, limit=size)
    lines = [ctx.t("staff.roles.title", page=page + 1, pages=page_count(total, size))]
    for item in roles:
        lines.append(f"• {item.actor} — {await describe(ctx, item)}")
    ctx.say(
        "\n".join(lines),
        *pager(ctx, page=page, total=total, page_size=size, payload="srl:{}"),
        *nav(ctx),
    )


def _who_unknown(ctx: Context, who: str) -> None:
    """A typed phone number gets the reason it was refused; anything else the usual hint."""
    number = who.strip().lstrip("+")[:1].isdigit()
    if number and who.rpartition(":")[0] in ("", "whatsapp") and ctx.incoming.channel != "telegram":
        try:
            normalise_phone(who.rpartition(":")[2])
        except NotAPhoneNumber as exc:
            ctx.say(ctx.t(f"phone_numbers.{exc.reason}", number=who))
            return
    ctx.say(ctx.t("staff.roles.who_unknown", who=who))


async def _resolve(ctx: Context, word: str) -> str | None:
    """'channel:user_id' for a typed id or @username, or None."""
    word = word.strip()
    if word.startswith("@") and len(word) > 1:
        found = await ctx.storage.staff.find_username(channel="telegram", username=word)
        return f"telegram:{found}" if found else None
    channel, _, ident = word.rpartition(":")
    channel = channel or ctx.incoming.channel
    if channel == "whatsapp":
        try:
            return f"whatsapp:{normalise_phone(ident)}"
        except NotAPhoneNumber:
            return None
    if channel in ("telegram", "terminal") and ident.isdigit():
        return f"{channel}:{ident}"
    return None


async def _target_from(ctx: Context, words: list[str]) -> tuple[str | None, list[str], bool]:
    """(target, remaining words, named?) from a forward or the first word."""
    if ctx.incoming.forwarded_from is not None:
        return f"{ctx.incoming.channel}:{ctx.incoming.forwarded_from}", words, True
    if not words:
        return None, words, False
    return await _resolve(ctx, words[0]), words[1:], True


async def grant(ctx: Context, role: StaffRole) -> None:
    """/beriperan [who] [role] [regency code | all | library slug]"""
    target, rest, named = await _target_from(ctx, ctx.incoming.args.split())
    if named and target is None:
        _who_unknown(ctx, ctx.incoming.args.split()[0])
        return
    if target is None:
        steps.start(ctx, GRANT, "who", GrantDraft())
        ctx.say(ctx.t("staff.roles.ask_who"))
        return
    draft = GrantDraft(target=target)
    steps.start(ctx, GRANT, "choose", draft)
    if rest and ROLE_WORDS.get(rest[0].casefold()):
        draft.role = ROLE_WORDS[rest[0].casefold()]
        steps.keep(ctx, draft)
        if await _scope_from_words(ctx, role, draft, rest[1:]):
            return
    await _next_grant_question(ctx, role)


async def _scope_from_words(
    ctx: Context, by: StaffRole, draft: GrantDraft, words: list[str]
) -> bool:
    """Finish the grant from a typed scope; True when done (or answered)."""
    if draft.role == "admin":
        await _finish_grant(ctx, by, draft)
        return True
    if not words:
        return False
    word = words[0].casefold()
    if draft.role == "coordinator":
        codes = {r.code for r in await ctx.storage.libraries.regencies()}
        if word in ALL_WORDS or word in codes:
            draft.regency = None if word in ALL_WORDS else word
            await _finish_grant(ctx, by, draft)
            return True
    else:
        library_id = await ctx.storage.staff.library_id(slug=word)
        if library_id is not None:
            draft.library = library_id
            await _finish_grant(ctx, by, draft)
            return True
    ctx.say(ctx.t("staff.roles.scope_unknown", scope=words[0]))
    return False


async def who_typed(ctx: Context, role: StaffRole) -> None:
    """The 'who?' step: a typed id / @username, or a forwarded message."""
    if ctx.incoming.forwarded_from is not None:
        target: str | None = f"{ctx.incoming.channel}:{ctx.incoming.forwarded_from}"
    else:
        target = await _resolve(ctx, ctx.incoming.text)
    if target is None:
        _who_unknown(ctx, clip(ctx.incoming.text, 40))
        return
    if ctx.session.flow == REVOKE.name:
        await _ask_revoke(ctx, target, None)
        return
    steps.keep(ctx, GrantDraft(target=target))
    steps.goto(ctx, "choose")
    await _next_grant_question(ctx, role)


async def _next_grant_question(ctx: Context, role: StaffRole) -> None:
    draft = _grant_draft(ctx)
    if draft is None or not draft.target:
        expired(ctx)
        return
    if draft.role is None:
        ctx.say(
            ctx.t("staff.roles.ask_role", who=draft.target),
            *(ctx.choice(f"staff.role.{r}", f"srg:r:{r}") for r in ROLES),
            *nav(ctx),
        )
        return
    regencies = await ctx.storage.libraries.regencies()
    if draft.role == "coordinator":
        ctx.say(
            ctx.t("staff.roles.ask_regency"),
            ctx.choice("staff.roles.province", "srg:s:*"),
            *(Choice(r.name, f"srg:s:{r.code}") for r in regencies),
            *nav(ctx),
        )
        return
    ctx.say(
        ctx.t("staff.roles.ask_library_regency"),
        *(Choice(r.name, f"srg:lr:{r.code}") for r in regencies),
        *nav(ctx),
    )


async def grant_button(ctx: Context, role: StaffRole, arg: str) -> None:
    """srg:r:<role> | srg:s:<regency or *> | srg:lr:<regency> | srg:l:<library id>"""
    draft = _grant_draft(ctx)
    if draft is None or not draft.target:
        expired(ctx)
        return
    action, _, value = arg.partition(":")
    if action == "r" and value in ROLES:
        draft.role = value
        steps.keep(ctx, draft)
        if value == "admin":
            await _finish_grant(ctx, role, draft)
            return
        await _next_grant_question(ctx, role)
        return
    codes = {r.code for r in await ctx.storage.libraries.regencies()}
    if action == "s" and draft.role == "coordinator" and (value == "*" or value in codes):
        draft.regency = None if value == "*" else value
        await _finish_grant(ctx, role, draft)
        return
    if action == "lr" and draft.role == "librarian" and value in codes:
        libraries = await ctx.storage.libraries.in_regency(regency_code=value)
        if not libraries:
            ctx.say(ctx.t("staff.roles.no_library"), *nav(ctx))
            return
        ctx.say(
            ctx.t("staff.roles.ask_library"),
            *(Choice(clip(lib.name, 60), f"srg:l:{lib.id}") for lib in libraries),
            *nav(ctx),
        )
        return
    if action == "l" and draft.role == "librarian" and value.isdigit():
        try:
            await ctx.storage.libraries.get(library_id=int(value))
        except NotFound:
            expired(ctx)
            return
        draft.library = int(value)
        await _finish_grant(ctx, role, draft)
        return
    expired(ctx)


async def _finish_grant(ctx: Context, by: StaffRole, draft: GrantDraft) -> None:
    steps.end(ctx)
    assert draft.role is not None
    channel, _, external_id = draft.target.partition(":")
    granted = await ctx.storage.staff.grant(
        by=by,
        channel=channel,
        external_id=external_id,
        role=draft.role,
        regency_code=draft.regency if draft.role == "coordinator" else None,
        library_id=draft.library if draft.role == "librarian" else None,
        now=ctx.now,
    )
    ctx.say(
        ctx.t("staff.roles.granted", who=granted.actor, role=await describe(ctx, granted)),
        *nav(ctx),
    )


async def revoke(ctx: Context, role: StaffRole) -> None:
    """/cabutperan [who] [role]"""
    words = ctx.incoming.args.split()
    target, rest, named = await _target_from(ctx, words)
    if named and target is None:
        _who_unknown(ctx, words[0])
        return
    if target is None:
        steps.start(ctx, REVOKE, "who", RevokeDraft())
        ctx.say(ctx.t("staff.roles.ask_who_revoke"))
        return
    wanted = ROLE_WORDS.get(rest[0].casefold()) if rest else None
    await _ask_revoke(ctx, target, wanted)


async def _ask_revoke(ctx: Context, target: str, wanted: str | None) -> None:
    """Which role (when the person holds several), then the confirmation."""
    channel, _, external_id = target.partition(":")
    held = await ctx.storage.staff.roles_of(channel=channel, external_id=external_id)
    if wanted is not None:
        held = [r for r in held if r.role == wanted]
    if not held:
        _end(ctx)
        ctx.say(ctx.t("staff.roles.no_role", who=target), *nav(ctx))
        return
    steps.start(ctx, REVOKE, "confirm", RevokeDraft(target=target))
    if len(held) > 1:
        ctx.say(
            ctx.t("staff_safety.revoke.which", who=target),
            *[Choice(clip(await describe(ctx, r), 60), f"srv:r:{r.role}") for r in held],
            *nav(ctx),
        )
        return
    await _confirm_revoke(ctx, held[0])


async def _confirm_revoke(ctx: Context, old: StaffRole) -> None:
    draft = _revoke_draft(ctx) or RevokeDraft()
    draft.role = old.role
    steps.keep(ctx, draft)
    ctx.say(
        ctx.t("staff_safety.revoke.ask", who=old.actor, role=await describe(ctx, old)),
        ctx.choice("staff_safety.revoke.yes", f"srv:y:{old.role}"),
        ctx.choice("staff_safety.revoke.keep", "srv:k"),
        *nav(ctx),
    )


def _end(ctx: Context) -> None:
    if ctx.session.flow in (GRANT.name, REVOKE.name):
        steps.end(ctx)


async def revoke_button(ctx: Context, role: StaffRole, arg: str) -> None:
    """srv:r:<role> (which one) | srv:y:<role> (confirmed) | srv:k (keep)"""
    draft = _revoke_draft(ctx)
    action, _, value = arg.partition(":")
    if draft is None or not draft.target:
        expired(ctx)
        return
    target = draft.target
    if action == "k":
        _end(ctx)
        ctx.say(ctx.t("staff_safety.revoke.kept", who=target), *nav(ctx))
        return
    channel, _, external_id = target.partition(":")
    held = {
        r.role: r
        for r in await ctx.storage.staff.roles_of(channel=channel, external_id=external_id)
    }
    if action == "r" and value in held:
        await _confirm_revoke(ctx, held[value])
        return
    if action != "y" or value not in held or draft.role != value:
        expired(ctx)
        return
    _end(ctx)
    try:
        old = await ctx.storage.staff.revoke(
            by=role, channel=channel, external_id=external_id, role=value, now=ctx.now
        )
    except LastAdmin:
        ctx.say(ctx.t("staff_safety.revoke.last_admin", who=target), *nav(ctx))
        return
    except NotFound:
        ctx.say(ctx.t("staff.roles.no_role", who=target), *nav(ctx))
        return
    text = ctx.t("staff.roles.revoked", who=target, role=ctx.t(f"staff.role.{old.role}"))
    if old.granted_by == "config":
        text += "\n" + ctx.t("staff_safety.revoke.config_note")
    ctx.say(text, *nav(ctx))


async def revoke_typed(ctx: Context, role: StaffRole) -> None:
    """Typing at the revoke confirmation: a no keeps the role; the buttons' words act as them."""
    picked = typed_choice(ctx.incoming.text, ctx.session.state.get("choices"))
    if picked is not None and picked.startswith("srv:"):
        await revoke_button(ctx, role, picked.removeprefix("srv:"))
        return
    if says_no(ctx.incoming.text):
        await revoke_button(ctx, role, "k")
        return
    ctx.say(ctx.t("staff_safety.revoke.tap_to_confirm"))
    draft = _revoke_draft(ctx) or RevokeDraft()
    await _ask_revoke(ctx, draft.target, draft.role)


async def show_audit(ctx: Context, role: StaffRole) -> None:
    """/audit [person | acara N | DD-MM-YYYY]"""
    text = ctx.incoming.args.strip()
    where = await _audit_filter(ctx, text) if text else audit_text.AuditFilter()
    if where is None:
        ctx.say(ctx.t("staff_safety.audit.bad_filter", text=clip(text, 40)), *nav(ctx))
        return
    await _audit_page(ctx, 0, where)


async def _audit_filter(ctx: Context, text: str) -> audit_text.AuditFilter | None:
    words = text.split()
    if words[0].casefold() in ("acara", "event") and len(words) == 2 and words[1].isdigit():
        return audit_text.AuditFilter(event_id=int(words[1]))
    day = parse_day(text)
    if day is not None:
        return audit_text.AuditFilter(day=day)
    person = await _resolve(ctx, text)
    return None if person is None else audit_text.AuditFilter(person=person)


async def audit_page(ctx: Context, role: StaffRole, arg: str) -> None:
    """sau:<page>[:<filter code>]"""
    page_text, _, code = arg.partition(":")
    try:
        page = parse_page(page_text)
    except ValueError:
        expired(ctx)
        return
    await _audit_page(ctx, page, audit_text.AuditFilter.from_code(code))


async def _audit_page(ctx: Context, page: int, where: audit_text.AuditFilter) -> None:
    size = 15
    found, total = await audit_text.entries(
        ctx.storage, where, ctx.settings.timezone, offset=page * size, limit=size
    )
    if not found:
        ctx.say(
            ctx.t("staff_safety.audit.none") + "\n" + ctx.t("staff_safety.audit.help"), *nav(ctx)
        )
        return
    label = ""
    if where.person is not None:
        label = ctx.t("staff_safety.audit.filter_person", who=where.person)
    elif where.event_id is not None:
        try:
            title = (await ctx.storage.events.get(event_id=where.event_id)).title
        except NotFound:
            title = f"#{where.event_id}"
        label = ctx.t("staff_safety.audit.filter_event", title=title)
    elif where.day is not None:
        label = ctx.t("staff_safety.audit.filter_day", day=f"{where.day:%d-%m-%Y}")
    head = ctx.t(
        "staff_safety.audit.title", page=page + 1, pages=page_count(total, size), filter=label
    )
    body = await audit_text.lines(
        ctx.storage, ctx.translator, ctx.language, ctx.settings.timezone, found
    )
    payload = "sau:{}" + (f":{where.code}" if where.code else "")
    ctx.say(
        "\n".join([head, *body, "", ctx.t("staff_safety.audit.help")]),
        *pager(ctx, page=page, total=total, page_size=size, payload=payload),
        *nav(ctx),
    )


async def _ask_who_again(ctx: Context) -> None:
    key = "staff.roles.ask_who" if ctx.session.flow == GRANT_FLOW else "staff.roles.ask_who_revoke"
    ctx.say(ctx.t(key))


async def _revoke_again(ctx: Context, role: StaffRole) -> None:
    draft = _revoke_draft(ctx)
    if draft is None or not draft.target:
        expired(ctx)
        return
    await _ask_revoke(ctx, draft.target, draft.role)


def _who() -> Step:
    return Step(Accepts.TEXT, ask=_ask_who_again, typed=access.step(who_typed, access.ADMIN))


GRANT = steps.register(
    steps.Flow(
        GRANT_FLOW,
        steps={
            "who": _who(),
            "choose": Step(Accepts.CHOICE, ask=access.step(_next_grant_question, access.ADMIN)),
        },
        payloads=frozenset({"srg"}),
        stale_minutes=None,
    )
)
REVOKE = steps.register(
    steps.Flow(
        REVOKE_FLOW,
        steps={
            "who": _who(),
            # Typing here catches a no ("tidak": kept) and the buttons' words; anything else
            # is answered with the hint and the question again (revoke_typed).
            "confirm": Step(
                Accepts.CHOICE,
                ask=access.step(_revoke_again, access.ADMIN),
                typed=access.step(revoke_typed, access.ADMIN),
            ),
        },
        payloads=frozenset({"srv"}),
        stale_minutes=None,
    )
)
