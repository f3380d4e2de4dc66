"""The one access check in front of every staff command, button and typed step.

The role is read from the database on every call (a revoked role stops working at once, even in
the middle of a flow). Someone without an allowed role gets exactly the answer an unknown command
(or an expired button) gets, so staff commands are not discoverable by probing. A handler that
finds the object it was asked about outside the role's scope raises `OutOfScope`; the answer is
the same, so nobody learns that an event or announcement of another regency exists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from handlers import help
from handlers.common import expired
from handlers.types import Context
from storage.errors import NotFound
from storage.models import Event
from storage.staff import ROLES, StaffRole

StaffCommand = Callable[[Context, StaffRole], Awaitable[None]]
StaffPayload = Callable[[Context, StaffRole, str], Awaitable[None]]
Command = Callable[[Context], Awaitable[None]]
PayloadHandler = Callable[[Context, str], Awaitable[None]]

ADMIN = ("admin",)
COORDINATORS = ("admin", "coordinator")
# What a librarian does for their library, admins and coordinators do within their scope.
LIBRARIANS = ROLES
ALL_STAFF = ROLES


class OutOfScope(Exception):
    """The role exists but does not reach this object (another regency's event, ...)."""


async def event_in_reach(
    ctx: Context, value: str, reaches: Callable[[Event], bool]
) -> Event | None:
    """The event a button names, or None if there is none; OutOfScope if `reaches` refuses it."""
    if not value.isdigit():
        return None
    try:
        event = await ctx.storage.events.get(event_id=int(value))
    except NotFound:
        return None
    if not reaches(event):
        raise OutOfScope(value)
    return event


async def _role_for(ctx: Context, allowed: Collection[str]) -> tuple[StaffRole | None, bool]:
    """(role, allowed?): the widest of the person's roles that the action allows (a librarian
    who also coordinates acts as coordinator where coordinators may), else their widest role."""
    held = await ctx.storage.staff.roles_of(
        channel=ctx.incoming.channel, external_id=ctx.incoming.user_id
    )
    for role in held:
        if role.role in allowed:
            return role, True
    return (held[0] if held else None), False


async def _refused(ctx: Context, role: StaffRole | None, what: str, arg: str) -> None:
    if role is not None:
        # Someone with a role reaching outside it is worth a trace; residents probing are not.
        await ctx.storage.staff.record(
            actor=role.actor, role=role.role, action="refused", target=what, detail=arg, now=ctx.now
        )


def _end_staff_flow(ctx: Context) -> None:
    ctx.session.end_flow()


def command(handler: StaffCommand, name: str, allowed: Collection[str] = ALL_STAFF) -> Command:
    async def run(ctx: Context) -> None:
        role, ok = await _role_for(ctx, allowed)
        if not ok or role is None:
            await _refused(ctx, role, f"/{name}", ctx.incoming.args)
            await help.unknown_command(ctx)
            return
        await ctx.storage.staff.record(
            actor=role.actor,
            role=role.role,
            action=f"/{name}",
            target=ctx.incoming.args[:100] or None,
            now=ctx.now,
        )
        try:
            await handler(ctx, role)
        except OutOfScope:
            await _refused(ctx, role, f"/{name}", ctx.incoming.args)
            ctx.replies.clear()
            _end_staff_flow(ctx)
            await help.unknown_command(ctx)

    return run


def payload(
    handler: StaffPayload, prefix: str, allowed: Collection[str] = ALL_STAFF
) -> PayloadHandler:
    async def run(ctx: Context, arg: str) -> None:
        role, ok = await _role_for(ctx, allowed)
        if not ok or role is None:
            await _refused(ctx, role, prefix, arg)
            _end_staff_flow(ctx)
            expired(ctx)
            return
        # A tap is not recorded by itself (the log would fill with raw button payloads); the
        # change it leads to records itself, in words, in the same transaction as the change.
        try:
            await handler(ctx, role, arg)
        except OutOfScope:
            await _refused(ctx, role, prefix, arg)
            ctx.replies.clear()
            _end_staff_flow(ctx)
            expired(ctx)

    return run


def step(handler: StaffCommand, allowed: Collection[str] = ALL_STAFF) -> Command:
    """A typed answer inside a staff flow. Not audited by itself (it is a draft answer); the
    change it leads to is."""

    async def run(ctx: Context) -> None:
        role, ok = await _role_for(ctx, allowed)
        if not ok or role is None:
            _end_staff_flow(ctx)
            await help.unknown_command(ctx)
            return
        try:
            await handler(ctx, role)
        except OutOfScope:
            await _refused(ctx, role, ctx.session.flow or "", ctx.incoming.text[:100])
            ctx.replies.clear()
            _end_staff_flow(ctx)
            expired(ctx)

    return run
