"""/siaran (/broadcast) and /siaranku (/mybroadcasts): announcements to residents.

Flow "bc" (handlers/steps.py, draft `BroadcastDraft`): an answer that does not fit asks the
same question again with its buttons, the text and audience chosen so far kept; /batal, a
command or another screen's button leaves.

```mermaid
stateDiagram-v2
    [*] --> text: /siaran
    text --> audience: 5-900 characters (+ one photo, its caption the text)
    audience --> send: bc:a:... (count + preview)
    send --> confirm: bc:now
    send --> when: bc:later
    when --> confirm: a time in the future ("12-12-2026 09.00")
    send --> audience: bc:aud (change audience)
    confirm --> [*]: bc:ok -> queued | scheduled
    confirm --> [*]: bc:oks -> queued | scheduled, also by SMS
    audience --> audience: anything else (hint, asked again)
    send --> send: anything else (hint, asked again)
    confirm --> confirm: anything else (hint, asked again)
```

The audience offered is what the sender's role reaches: a librarian or a regency coordinator
reaches the residents of one regency (all of them, or those following a topic) and the
registrants of their events; admins and province coordinators reach everyone.

SMS costs money per segment, so an announcement goes by SMS only when its author says so: with
SMS configured and residents of the audience who read SMS (those who use SMS alone, and those who
added a verified number for SMS), the confirmation offers "also by SMS" with how many they are and
the segments it takes against what is left of that day's budget. Without that choice (typed "ya"
included) nobody gets it by SMS.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers import sms_cost, steps
from handlers.common import clip, expired, page_count, pager, parse_page
from handlers.events import CATEGORIES
from handlers.staff import access
from handlers.staff.access import OutOfScope
from handlers.staff.nav import nav
from handlers.staff.when import parse_local
from handlers.steps import Accepts, Step
from handlers.types import Choice, Context, Reply, Translator
from storage import Storage
from storage.broadcasts import Audience, Broadcast, EmptyAudience, NotCancellable
from storage.errors import NotFound
from storage.models import Event
from storage.staff import StaffRole

FLOW = "bc"
# Telegram captions stop at 1024 characters; the header and footer need the rest.
MAX_TEXT = 900
MAX_TEXT_WITH_PHOTO = 800
MIN_TEXT = 5
MAX_DAYS_AHEAD = 180


@dataclass
class BroadcastDraft:
    text: str = ""
    photo: str | None = None
    # The audience chosen: [kind, encoded] (Audience.decode), and how many it reaches.
    aud: list[str | None] | None = None
    count: int = 0
    due: str | None = None  # ISO time when scheduled for later
    # Residents of the audience who would get it by SMS, by language (SMS configured only).
    sms_people: dict[str, int] | None = None


def _draft(ctx: Context) -> BroadcastDraft | None:
    return steps.load_draft(ctx, BC_FLOW, BroadcastDraft)


async def start(ctx: Context, role: StaffRole) -> None:
    steps.start(ctx, BC_FLOW, "text", BroadcastDraft())
    ctx.say(ctx.t("staff.bc.ask_text", limit=MAX_TEXT))


async def text_typed(ctx: Context, role: StaffRole) -> None:
    """The text (and optionally one photo, whose caption is the text)."""
    draft = _draft(ctx)
    if draft is None:
        expired(ctx)
        return
    if ctx.incoming.photo is not None:
        draft.photo = ctx.incoming.photo
        steps.keep(ctx, draft)
    text = ctx.incoming.text.strip()
    if not text:
        if draft.photo:
            ctx.say(ctx.t("staff.bc.photo_kept"))
        else:
            ctx.say(ctx.t("staff.bc.ask_text", limit=MAX_TEXT))
        return
    limit = MAX_TEXT_WITH_PHOTO if draft.photo else MAX_TEXT
    if len(text) > limit:
        ctx.say(ctx.t("staff.bc.too_long", limit=limit, length=len(text)))
        return
    if len(text) < MIN_TEXT:
        ctx.say(ctx.t("staff.bc.too_short", limit=MIN_TEXT))
        return
    draft.text = text
    steps.keep(ctx, draft)
    steps.goto(ctx, "audience")
    await _ask_audience(ctx, role)


async def _ask_audience(ctx: Context, role: StaffRole) -> None:
    regency = role.regency
    choices: list[Choice] = []
    if regency is None:
        choices.append(ctx.choice("staff.bc.aud_all_province", "bc:a:all"))
        choices.append(ctx.choice("staff.bc.aud_regency", "bc:a:rs"))
        choices.append(ctx.choice("staff.bc.aud_topic", "bc:a:ts"))
    else:
        name = (await ctx.storage.libraries.regency(code=regency)).name
        choices.append(ctx.choice("staff.bc.aud_all_regency", "bc:a:all", regency=name))
        choices.append(ctx.choice("staff.bc.aud_topic_regency", "bc:a:ts", regency=name))
    choices.append(ctx.choice("staff.bc.aud_registrants", "bc:a:es:0"))
    choices.append(ctx.choice("staff.bc.aud_waitlist", "bc:a:ws:0"))
    choices.append(ctx.choice("staff.bc.cancel", "bc:x"))
    ctx.say(ctx.t("staff.bc.ask_audience"), *choices, *nav(ctx))


def check_audience(role: StaffRole, audience: Audience, event: Event | None = None) -> None:
    """Raise OutOfScope unless the role reaches every recipient of `audience`."""
    if audience.kind in ("all", "topic"):
        if audience.regency_code != role.regency:
            raise OutOfScope(audience)
    elif audience.kind == "regency":
        if not role.province_wide:
            raise OutOfScope(audience)
    elif event is None or not role.covers_event(event):
        raise OutOfScope(audience)


async def audience_button(ctx: Context, role: StaffRole, arg: str) -> None:
    """bc:a:all | rs | r:<code> | ts | t:<topic> | es:<page> | e:<id> | ws:<page> | w:<id>"""
    draft = _draft(ctx)
    if draft is None or not draft.text:
        expired(ctx)
        return
    kind, _, value = arg.partition(":")
    audience: Audience | None = None
    event: Event | None = None
    if kind == "all":
        audience = Audience("all", regency_code=role.regency)
    elif kind == "rs" and role.province_wide:
        regencies = await ctx.storage.libraries.regencies()
        ctx.say(
            ctx.t("staff.bc.ask_regency"),
            *(Choice(r.name, f"bc:a:r:{r.code}") for r in regencies),
            *nav(ctx, "bc:aud"),
        )
        return
    elif kind == "r":
        try:
            await ctx.storage.libraries.regency(code=value)
        except NotFound:
            expired(ctx)
            return
        audience = Audience("regency", regency_code=value)
    elif kind == "ts":
        ctx.say(
            ctx.t("staff.bc.ask_topic"),
            *(ctx.choice(f"events.category.{c}", f"bc:a:t:{c}") for c in CATEGORIES),
            *nav(ctx, "bc:aud"),
        )
        return
    elif kind == "t" and value in CATEGORIES:
        audience = Audience("topic", topic=value, regency_code=role.regency)
    elif kind in ("es", "ws"):
        await _pick_event(ctx, role, kind, value)
        return
    elif kind in ("e", "w") and value.isdigit():
        try:
            event = await ctx.storage.events.get(event_id=int(value))
        except NotFound:
            expired(ctx)
            return
        audience = Audience("registrants" if kind == "e" else "waitlist", event_id=event.id)
    if audience is None:
        expired(ctx)
        return
    check_audience(role, audience, event)
    count = await ctx.storage.broadcasts.count(audience)
    sms_people = None
    if sms_cost.sms_cost(ctx) is not None:
        sms_people = await ctx.storage.broadcasts.sms_count(audience)
    if count == 0 and not sms_people:
        ctx.say(ctx.t("staff.bc.nobody"))
        await _ask_audience(ctx, role)
        return
    draft.aud = [audience.kind, audience.encode()]
    draft.count = count
    draft.sms_people = sms_people or None
    steps.keep(ctx, draft)
    steps.goto(ctx, "send")
    language = ctx.language
    ctx.say(ctx.t("staff.bc.preview_intro", audience=await describe_audience(ctx, audience)))
    ctx.replies.append(
        Reply(
            await resident_text(ctx, role, draft.text, audience, language),
            photo=draft.photo or None,
        )
    )
    _ask_send(ctx, draft)


def _ask_send(ctx: Context, draft: BroadcastDraft) -> None:
    text = ctx.t("staff.bc.count", count=ctx.translator.number(ctx.language, draft.count))
    if draft.sms_people:
        people = ctx.translator.number(ctx.language, sum(draft.sms_people.values()))
        text += "\n" + ctx.t("staff.bc.count_sms", count=people)
    ctx.say(
        text,
        ctx.choice("staff.bc.send_now", "bc:now"),
        ctx.choice("staff.bc.send_later", "bc:later"),
        ctx.choice("staff.bc.change_audience", "bc:aud"),
        ctx.choice("staff.bc.cancel", "bc:x"),
    )


async def _pick_event(ctx: Context, role: StaffRole, kind: str, page_text: str) -> None:
    try:
        page = parse_page(page_text)
    except ValueError:
        expired(ctx)
        return
    size = ctx.settings.page_size
    events, total = await ctx.storage.staff_events.for_role(
        role=role, now=ctx.now, offset=page * size, limit=size
    )
    if not events:
        ctx.say(ctx.t("staff.events.none"))
        await _ask_audience(ctx, role)
        return
    pick = "e" if kind == "es" else "w"
    choices = [
        Choice(
            clip(f"{e.title} · {ctx.translator.day(ctx.language, e.starts_at)}", 60),
            f"bc:a:{pick}:{e.id}",
        )
        for e in events
    ]
    choices += pager(ctx, page=page, total=total, page_size=size, payload=f"bc:a:{kind}:" + "{}")
    ctx.say(
        ctx.t("staff.bc.ask_event", page=page + 1, pages=page_count(total, size)),
        *choices,
        *nav(ctx, "bc:aud"),
    )


async def describe_audience(ctx: Context, audience: Audience) -> str:
    return await audience_words(ctx.storage, ctx.translator, ctx.language, audience)


async def audience_words(
    storage: Storage, translator: Translator, language: str, audience: Audience
) -> str:
    def t(key: str, **values: object) -> str:
        return translator.text(language, key, **values)

    regency = None
    if audience.regency_code:
        regency = (await storage.libraries.regency(code=audience.regency_code)).name
    if audience.kind in ("registrants", "waitlist"):
        try:
            title = (await storage.events.get(event_id=audience.event_id or 0)).title
        except NotFound:
            title = "?"
        return t(f"staff.bc.desc_{audience.kind}", event=title)
    if audience.kind == "topic":
        topic = t(f"events.category.{audience.topic}")
        if regency:
            return t("staff.bc.desc_topic_regency", topic=topic, regency=regency)
        return t("staff.bc.desc_topic", topic=topic)
    if regency:
        return t("staff.bc.desc_regency", regency=regency)
    return t("staff.bc.desc_all")


async def _sender(ctx: Context, role: StaffRole, language: str) -> str:
    if role.role == "librarian" and role.library_name:
        return role.library_name
    if role.regency is not None:
        name = (await ctx.storage.libraries.regency(code=role.regency)).name
        return ctx.translator.text(language, "staff.bc.sender_regency", regency=name)
    return ctx.translator.text(language, "staff.bc.sender_province")


async def resident_text(
    ctx: Context,
    role: StaffRole,
    text: str,
    audience: Audience,
    language: str,
    *,
    sms: bool = False,
) -> str:
    """The announcement exactly as a resident reading `language` receives it. `sms`: as an SMS
    reads, with no emoji or chat command and one keyword to stop announcements (the SMS channel
    makes it GSM-7 and cuts it to its longest SMS)."""
    sender = await _sender(ctx, role, language)
    suffix = "_sms" if sms else ""
    if audience.is_event_message:
        try:
            title = (await ctx.storage.events.get(event_id=audience.event_id or 0)).title
        except NotFound:
            title = "?"
        return ctx.translator.text(
            language, f"staff.bc.message_event{suffix}", sender=sender, event=title, text=text
        )
    return ctx.translator.text(language, f"staff.bc.message{suffix}", sender=sender, text=text)


async def send_button(ctx: Context, role: StaffRole, arg: str) -> None:
    """bc:now | bc:later | bc:aud | bc:ok | bc:oks (also by SMS) | bc:x"""
    draft = _draft(ctx)
    if arg == "x":
        if ctx.session.flow == BC_FLOW.name:
            steps.end(ctx)
        ctx.say(ctx.t("staff.bc.cancelled"), *nav(ctx))
        return
    if arg == "aud" and draft is not None and draft.text:
        # Back to the audience question, from its sub-lists or from the preview.
        steps.goto(ctx, "audience")
        await _ask_audience(ctx, role)
        return
    if draft is None or draft.aud is None:
        expired(ctx)
        return
    if arg == "now":
        draft.due = None
        steps.keep(ctx, draft)
        steps.goto(ctx, "confirm")
        await _ask_confirm(ctx, role, draft)
        return
    if arg == "later":
        steps.goto(ctx, "when")
        ctx.say(ctx.t("staff.bc.ask_when", example=_example(ctx)))
        return
    if arg in ("ok", "oks") and ctx.session.step == "confirm":
        by_sms = arg == "oks"
        if by_sms and (sms_cost.sms_cost(ctx) is None or not draft.sms_people):
            expired(ctx)  # SMS was turned off since the question, or nobody reads SMS
            return
        if not by_sms and draft.count == 0:
            expired(ctx)  # only SMS reaches this audience: the question offered only that
            return
        await _create(ctx, role, draft, by_sms=by_sms)
        return
    expired(ctx)


async def _ask_confirm(ctx: Context, role: StaffRole, draft: BroadcastDraft) -> None:
    count = ctx.translator.number(ctx.language, draft.count)
    due = datetime.fromisoformat(draft.due) if draft.due else None
    if due is None:
        text = ctx.t("staff.bc.confirm_now", count=count)
        yes, yes_sms = "staff.bc.yes_send", "staff.bc.yes_send_sms"
    else:
        text = ctx.t("staff.bc.confirm_later", count=count, when=ctx.when(due))
        yes, yes_sms = "staff.bc.yes_schedule", "staff.bc.yes_schedule_sms"
    choices = []
    if draft.count > 0:
        choices.append(ctx.choice(yes, "bc:ok", means="yes"))
    offer = await _sms_offer(ctx, role, draft, due or ctx.now)
    if offer is not None:
        text += "\n\n" + offer
        # Typed "ya" sends without SMS (it costs money: only a choice of its own includes it),
        # unless SMS is the only way this audience is reached.
        choices.append(ctx.choice(yes_sms, "bc:oks", means="" if choices else "yes"))
    choices.append(ctx.choice("staff.bc.cancel", "bc:x", means="no"))
    ctx.say(text, *choices)


async def _sms_offer(
    ctx: Context, role: StaffRole, draft: BroadcastDraft, moment: datetime
) -> str | None:
    """How many would get it by SMS and what that costs against the day's budget; None when SMS
    is not configured or nobody of the audience reads SMS."""
    cost = sms_cost.sms_cost(ctx)
    if cost is None or not draft.sms_people or draft.aud is None:
        return None
    audience = Audience.decode(
        str(draft.aud[0]), None if draft.aud[1] is None else str(draft.aud[1])
    )
    total, cut = 0, False
    for language, people in draft.sms_people.items():
        text = await resident_text(ctx, role, draft.text, audience, language, sms=True)
        raw = cost.segments(text)
        cut = cut or raw > cost.max_segments
        total += people * min(raw, cost.max_segments)
    budget = await sms_cost.room(ctx, cost, moment)
    number = functools.partial(ctx.translator.number, ctx.language)
    day = (
        ctx.t("staff.bc.sms_today")
        if budget.today
        else ctx.translator.day(ctx.language, budget.day)
    )
    lines = [
        ctx.t(
            "staff.bc.sms_offer",
            people=number(sum(draft.sms_people.values())),
            segments=number(total),
            day=day,
            left=number(budget.left),
            limit=number(budget.limit),
        )
    ]
    if total > budget.left:
        lines.append(ctx.t("staff.bc.sms_over_budget"))
    if cut:
        lines.append(ctx.t("staff.bc.sms_cut", segments=number(cost.max_segments)))
    return "\n".join(lines)


async def _ask_again(ctx: Context, role: StaffRole) -> None:
    """The question of the step /siaran waits at, again (after the hint)."""
    draft = _draft(ctx)
    step = ctx.session.step
    if draft is None:
        expired(ctx)
    elif step == "text":
        ctx.say(ctx.t("staff.bc.ask_text", limit=MAX_TEXT))
    elif step == "audience":
        await _ask_audience(ctx, role)
    elif step == "send" and draft.aud is not None:
        _ask_send(ctx, draft)
    elif step == "when":
        ctx.say(ctx.t("staff.bc.ask_when", example=_example(ctx)))
    elif step == "confirm" and draft.aud is not None:
        await _ask_confirm(ctx, role, draft)
    else:
        expired(ctx)


def _example(ctx: Context) -> str:
    from zoneinfo import ZoneInfo

    local = (ctx.now + timedelta(days=1)).astimezone(ZoneInfo(ctx.settings.timezone))
    return local.strftime("%d-%m-%Y 09.00")


async def when_typed(ctx: Context, role: StaffRole) -> None:
    draft = _draft(ctx)
    if draft is None or draft.aud is None:
        expired(ctx)
        return
    due = parse_local(ctx.incoming.text, ctx.settings.timezone)
    if due is None:
        ctx.say(ctx.t("staff.bc.when_invalid", example=_example(ctx)))
        return
    if due <= ctx.now + timedelta(minutes=1):
        ctx.say(ctx.t("staff.bc.when_past", example=_example(ctx)))
        return
    if due > ctx.now + timedelta(days=MAX_DAYS_AHEAD):
        ctx.say(ctx.t("staff.bc.when_far", days=MAX_DAYS_AHEAD))
        return
    draft.due = due.isoformat()
    steps.keep(ctx, draft)
    steps.goto(ctx, "confirm")
    await _ask_confirm(ctx, role, draft)


async def _create(ctx: Context, role: StaffRole, draft: BroadcastDraft, *, by_sms: bool) -> None:
    aud = draft.aud
    assert aud is not None
    audience = Audience.decode(str(aud[0]), None if aud[1] is None else str(aud[1]))
    event = None
    if audience.event_id is not None:
        try:
            event = await ctx.storage.events.get(event_id=audience.event_id)
        except NotFound:
            expired(ctx)
            return
    # The role is checked again here: it may have changed since the audience was chosen.
    check_audience(role, audience, event)
    text = draft.text
    photo = draft.photo or None
    bodies = {}
    for language in ("id", "en"):
        body: dict[str, object] = {
            "text": await resident_text(ctx, role, text, audience, language),
            "choices": [],
        }
        if photo:
            body["photo"] = photo
        bodies[language] = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    sms_bodies = None
    if by_sms:
        sms_bodies = {
            language: json.dumps(
                {
                    "text": await resident_text(ctx, role, text, audience, language, sms=True),
                    "choices": [],
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            for language in ("id", "en")
        }
    due = datetime.fromisoformat(draft.due) if draft.due else ctx.now
    steps.end(ctx)
    try:
        broadcast = await ctx.storage.broadcasts.create(
            author=role.actor,
            author_role=role.role,
            author_channel=ctx.incoming.channel,
            author_recipient=ctx.incoming.user_id,
            author_language=ctx.language,
            text=text,
            photo=photo,
            audience=audience,
            due_at=due,
            bodies=bodies,
            sms_bodies=sms_bodies,
            now=ctx.now,
        )
    except EmptyAudience:
        ctx.say(ctx.t("staff.bc.nobody"), *nav(ctx))
        return
    number = ctx.translator.number(ctx.language, broadcast.recipients)
    if broadcast.status == "scheduled":
        said = ctx.t(
            "staff.bc.scheduled", id=broadcast.id, count=number, when=ctx.when(broadcast.due_at)
        )
    else:
        said = ctx.t("staff.bc.queued", id=broadcast.id, count=number)
    if broadcast.sms:
        said += "\n" + ctx.t("staff.bc.sms_queued")
    ctx.say(said, ctx.choice("staff.bc.view", f"bc:v:{broadcast.id}"), *nav(ctx))


# /siaranku ---------------------------------------------------------------------------------


async def mine(ctx: Context, role: StaffRole) -> None:
    await _mine_page(ctx, role, 0)


async def mine_page(ctx: Context, role: StaffRole, arg: str) -> None:
    try:
        page = parse_page(arg)
    except ValueError:
        expired(ctx)
        return
    await _mine_page(ctx, role, page)


async def _mine_page(ctx: Context, role: StaffRole, page: int) -> None:
    await ctx.storage.broadcasts.refresh(now=ctx.now)
    size = ctx.settings.page_size
    items, total = await ctx.storage.broadcasts.by_author(
        author=role.actor, offset=page * size, limit=size
    )
    if not items:
        ctx.say(ctx.t("staff.bc.mine_none"), *nav(ctx))
        return
    lines = [ctx.t("staff.bc.mine_title", page=page + 1, pages=page_count(total, size))]
    choices = []
    for item in items:
        lines.append(await _summary(ctx, item))
        choices.append(Choice(clip(f"#{item.id} {item.text}", 40), f"bc:v:{item.id}"))
    choices += pager(ctx, page=page, total=total, page_size=size, payload="bcm:{}")
    ctx.say("\n\n".join(lines), *choices, *nav(ctx))


async def _summary(ctx: Context, item: Broadcast) -> str:
    return await summary_text(ctx.storage, ctx.translator, ctx.language, item)


async def summary_text(
    storage: Storage, translator: Translator, language: str, item: Broadcast
) -> str:
    said = translator.text(
        language,
        "staff.bc.summary",
        id=item.id,
        status=translator.text(language, f"staff.bc.status.{item.status}"),
        when=translator.when(language, item.due_at),
        audience=await audience_words(storage, translator, language, item.audience),
        text=clip(item.text, 60),
    )
    if item.sms:
        said += "\n" + translator.text(language, "staff.bc.summary_sms")
    return said


async def progress_text(
    storage: Storage, translator: Translator, language: str, item: Broadcast
) -> str:
    """Status line and sent / failed / remaining: the same words in /siaranku and in the
    progress message the delivery side keeps up to date."""
    progress = await storage.broadcasts.progress(broadcast_id=item.id)

    def number(value: int) -> str:
        return translator.number(language, value)

    counts = translator.text(
        language,
        "staff.bc.progress",
        sent=number(progress.sent),
        failed=number(progress.failed),
        remaining=number(progress.remaining),
        cancelled=number(progress.cancelled),
        total=number(item.recipients),
    )
    return await summary_text(storage, translator, language, item) + "\n" + counts


async def _own(ctx: Context, role: StaffRole, value: str) -> Broadcast | None:
    if not value.isdigit():
        return None
    try:
        item = await ctx.storage.broadcasts.get(broadcast_id=int(value))
    except NotFound:
        return None
    if item.author != role.actor and role.role != "admin":
        raise OutOfScope(value)
    return item


async def manage_button(ctx: Context, role: StaffRole, arg: str) -> None:
    """bc:v:<id> view (refresh edits in place) | bc:c:<id> ask to cancel | bc:cy:<id> cancel"""
    action, _, value = arg.partition(":")
    item = await _own(ctx, role, value)
    if item is None:
        expired(ctx)
        return
    if action == "v":
        await ctx.storage.broadcasts.refresh(now=ctx.now)
        ctx.replies.append(await progress_reply(ctx, item.id, edit=True))
        return
    if action == "c" and item.status in ("scheduled", "running"):
        ctx.say(
            ctx.t("staff.bc.cancel_confirm", id=item.id),
            ctx.choice("staff.bc.yes_cancel", f"bc:cy:{item.id}"),
            ctx.choice("staff.bc.keep", f"bc:v:{item.id}"),
            *nav(ctx, "bcm:0"),
        )
        return
    if action == "cy":
        try:
            stopped = await ctx.storage.broadcasts.cancel(
                broadcast_id=item.id, actor=role.actor, role=role.role, now=ctx.now
            )
        except NotCancellable:
            ctx.say(ctx.t("staff.bc.not_cancellable", id=item.id), *nav(ctx, "bcm:0"))
            return
        ctx.say(
            ctx.t(
                "staff.bc.cancelled_one",
                id=item.id,
                count=ctx.translator.number(ctx.language, stopped),
            ),
            *nav(ctx, "bcm:0"),
        )
        return
    expired(ctx)


async def progress_reply(ctx: Context, broadcast_id: int, *, edit: bool) -> Reply:
    """Status and sent / failed / remaining, with a refresh button that redraws this message."""
    item = await ctx.storage.broadcasts.get(broadcast_id=broadcast_id)
    text = await progress_text(ctx.storage, ctx.translator, ctx.language, item)
    choices = [ctx.choice("staff.bc.refresh", f"bc:v:{item.id}")]
    if item.status in ("scheduled", "running"):
        choices.append(ctx.choice("staff.bc.cancel_this", f"bc:c:{item.id}"))
    choices += nav(ctx, "bcm:0")
    return Reply(text, tuple(choices), edit=edit)


async def button(ctx: Context, role: StaffRole, arg: str) -> None:
    """Every `bc:` button of the flow and of /siaranku."""
    action, _, rest = arg.partition(":")
    if action == "a":
        await audience_button(ctx, role, rest)
    elif action in ("v", "c", "cy"):
        await manage_button(ctx, role, arg)
    else:
        await send_button(ctx, role, arg)


def _typed(handler: access.StaffCommand) -> Step:
    return Step(Accepts.TEXT, ask=access.step(_ask_again), typed=access.step(handler))


BC_FLOW = steps.register(
    steps.Flow(
        FLOW,
        steps={
            "text": _typed(text_typed),
            "audience": Step(Accepts.CHOICE, ask=access.step(_ask_again)),
            "send": Step(Accepts.CHOICE, ask=access.step(_ask_again)),
            "when": _typed(when_typed),
            "confirm": Step(Accepts.CHOICE, ask=access.step(_ask_again)),
        },
        payloads=frozenset({FLOW}),
        stale_minutes=None,
    )
)
