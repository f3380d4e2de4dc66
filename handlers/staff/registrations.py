"""/peserta (/registrations) and /ekspor (/export): who registered, who came, as a file.

    /peserta ─> events in scope (upcoming first, then recent; paged) ─> counts + names (paged)
                                                                   └─ tap a name: present / not

Attendance taps redraw the same message, so a librarian at the door can go down the list.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from handlers.common import clip, expired, page_count, pager, parse_page
from handlers.staff.access import event_in_reach
from handlers.staff.events import pick_event
from handlers.staff.export_files import XLSX, Cell, dated_name, to_csv, to_xlsx
from handlers.staff.nav import nav
from handlers.types import Choice, Context, Document, Reply
from storage.errors import NotFound
from storage.models import Event
from storage.staff import StaffRole
from storage.staff_events import Person

NAMES_PER_PAGE = 8


async def scoped_event(ctx: Context, role: StaffRole, value: str) -> Event | None:
    """The event named by a button, if it exists; OutOfScope if the role does not cover it."""
    return await event_in_reach(ctx, value, role.covers_event)


async def _pick(ctx: Context, role: StaffRole, *, page: int, action: str) -> None:
    """The events this role covers; `action` is the payload prefix a tap leads to."""
    target = {"spe": "spe:e:{}:0", "sex": "sex:e:{}"}[action]
    await pick_event(ctx, role, page=page, target=target, pages=f"{action}:l:" + "{}")


async def registrations(ctx: Context, role: StaffRole) -> None:
    await _pick(ctx, role, page=0, action="spe")


async def registrations_button(ctx: Context, role: StaffRole, arg: str) -> None:
    """spe:l:<page> | spe:e:<event>:<page> | spe:m:<event>:<registration>:<page>"""
    action, _, rest = arg.partition(":")
    parts = rest.split(":")
    try:
        if action == "l":
            await _pick(ctx, role, page=parse_page(rest), action="spe")
            return
        event = await scoped_event(ctx, role, parts[0])
        if event is None:
            expired(ctx)
            return
        if action == "e" and len(parts) == 2:
            ctx.replies.append(await _event_page(ctx, event, parse_page(parts[1]), edit=False))
            return
        if action == "m" and len(parts) == 3 and parts[1].isdigit():
            page = parse_page(parts[2])
            people, _ = await ctx.storage.staff_events.people(
                event_id=event.id, offset=page * NAMES_PER_PAGE, limit=NAMES_PER_PAGE
            )
            person = next((p for p in people if p.registration_id == int(parts[1])), None)
            if person is None:
                expired(ctx)
                return
            await ctx.storage.staff_events.set_attended(
                event_id=event.id,
                registration_id=person.registration_id,
                present=person.attended_at is None,
                now=ctx.now,
                actor=role.actor,
                role=role.role,
            )
            ctx.replies.append(await _event_page(ctx, event, page, edit=True))
            return
    except (ValueError, NotFound):
        pass
    expired(ctx)


async def _event_page(ctx: Context, event: Event, page: int, *, edit: bool) -> Reply:
    counts = await ctx.storage.staff_events.counts(event_id=event.id, now=ctx.now)
    people, total = await ctx.storage.staff_events.people(
        event_id=event.id, offset=page * NAMES_PER_PAGE, limit=NAMES_PER_PAGE
    )
    lines = [
        ctx.t(
            "staff.reg.title",
            title=event.title,
            when=ctx.when(event.starts_at),
            status=ctx.t(f"staff.ev.status.{event.status}"),
        ),
        ctx.t(
            "staff.reg.counts",
            confirmed=counts.confirmed,
            capacity=event.capacity if event.capacity is not None else "∞",
            waitlisted=counts.waitlisted,
            proxies=counts.proxies,
            attended=counts.attended,
            walk_ins=counts.walk_ins,
        ),
    ]
    if counts.no_shows is not None:
        lines.append(ctx.t("staff.reg.no_shows", count=counts.no_shows))
    if not people:
        lines.append(ctx.t("staff.reg.nobody"))
    else:
        lines.append(
            ctx.t("staff.reg.names", page=page + 1, pages=page_count(total, NAMES_PER_PAGE))
        )
    choices = [
        Choice(
            clip(_person_label(ctx, person), 60),
            f"spe:m:{event.id}:{person.registration_id}:{page}",
        )
        for person in people
    ]
    choices += pager(
        ctx, page=page, total=total, page_size=NAMES_PER_PAGE, payload=f"spe:e:{event.id}:" + "{}"
    )
    choices.append(ctx.choice("staff.reg.export", f"sex:e:{event.id}"))
    choices += nav(ctx, "spe:l:0")
    return Reply("\n".join(lines), tuple(choices), edit=edit)


def _person_label(ctx: Context, person: Person) -> str:
    mark = "✅" if person.attended_at is not None else "⬜"
    label = f"{mark} {person.name}"
    if person.status == "waitlisted":
        label += " · " + ctx.t("staff.reg.status.waitlisted")
    elif person.status == "walk_in":
        label += " · " + ctx.t("staff.reg.status.walk_in")
    if person.is_proxy:
        label += " · " + ctx.t("staff.reg.proxy")
    return label


# --- export ---------------------------------------------------------------------------------


async def export(ctx: Context, role: StaffRole) -> None:
    await _pick(ctx, role, page=0, action="sex")


async def export_button(ctx: Context, role: StaffRole, arg: str) -> None:
    """sex:l:<page> | sex:e:<event>"""
    action, _, rest = arg.partition(":")
    if action == "l":
        try:
            await _pick(ctx, role, page=parse_page(rest), action="sex")
        except ValueError:
            expired(ctx)
        return
    event = await scoped_event(ctx, role, rest) if action == "e" else None
    if event is None:
        expired(ctx)
        return
    header, rows = await export_table(ctx, event)

    def name(extension: str) -> str:
        return dated_name("peserta", event.title, event.starts_at, ctx.settings.timezone, extension)

    await ctx.storage.staff.record(
        actor=role.actor,
        role=role.role,
        action="export",
        target=f"event:{event.id}",
        detail=f"{len(rows)} rows",
        now=ctx.now,
    )
    ctx.replies.append(
        Reply(
            ctx.t("staff.reg.export_csv", title=event.title, count=len(rows)),
            document=Document(name("csv"), to_csv(header, rows), "text/csv"),
        )
    )
    ctx.replies.append(
        Reply(
            ctx.t("staff.reg.export_xlsx"),
            tuple(nav(ctx, f"spe:e:{event.id}:0")),
            document=Document(name("xlsx"), to_xlsx(header, rows, event.title), XLSX),
        )
    )


async def export_table(ctx: Context, event: Event) -> tuple[list[str], list[list[Cell]]]:
    """One row per person on the list; the optional answers the event asks as columns. Numbers
    and times stay typed (the spreadsheet sorts and sums them); times in local time (WITA)."""
    zone = ZoneInfo(ctx.settings.timezone)
    people = await ctx.storage.staff_events.all_people(event_id=event.id)
    header = [
        ctx.t("staff.reg.col.no"),
        ctx.t("staff.reg.col.name"),
        ctx.t("staff.reg.col.status"),
        ctx.t("staff.reg.col.proxy_for"),
    ]
    questions = [q for q in ("gender", "age_band", "village") if q in event.questions]
    header += [ctx.t(f"staff.ev.question.{q}") for q in questions]
    header += [ctx.t("staff.reg.col.registered_at"), ctx.t("staff.reg.col.attended_at")]
    rows: list[list[Cell]] = []
    for number, person in enumerate(people, start=1):
        row: list[Cell] = [
            number,
            person.name,
            ctx.t(f"staff.reg.status.{person.status}"),
            person.registered_by or "",
        ]
        for question in questions:
            value = getattr(person, question)
            if value and question == "gender":
                value = ctx.t(f"reg.gender.{value}")
            elif value and question == "age_band":
                value = ctx.t(f"reg.age.{value}")
            row.append(value or "")
        row.append(person.created_at.astimezone(zone))
        row.append(person.attended_at.astimezone(zone) if person.attended_at else None)
        rows.append(row)
    return header, rows
