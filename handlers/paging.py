"""Long choice lists paged, and labels shortened, once in the core for every channel.

A reply offering more choices than the person's channel shows in one message
(`Incoming.capabilities.max_choices`) goes out with the first page and a "more" choice. The whole
list is kept in the session (`pages`), so "more" — tapped, or its number or words typed — shows
the next page, after a restart too. The more-payload carries a short fingerprint of its list, so
a tap on an older list's "more" gets the usual "this menu has expired" instead of another list's
page.

    reply with N > max choices ──> page 1 + "Lainnya" (~pg:<key>:1)
                                         │ tap / "Lainnya" / its number
                                         ▼
                                   page 2 + "Lainnya" … last page (no "Lainnya")
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from handlers.common import clip, expired
from handlers.types import UNLIMITED, Capabilities, Choice, Context, Reply

PREFIX = "~pg:"
_STATE = "pages"
KEPT = _STATE  # the session key of the whole list, for matching typed words on any page


def list_key(choices: Sequence[Choice]) -> str:
    digest = hashlib.sha256("\x1f".join(c.payload for c in choices).encode()).hexdigest()
    return digest[:8]


def page_count(total: int, caps: Capabilities) -> int:
    if total <= caps.max_choices:
        return 1
    per = _per_page(caps)
    return (total + per - 1) // per


def _per_page(caps: Capabilities) -> int:
    return max(caps.max_choices - 1, 1)  # one place is the "more" choice


def _page(ctx: Context, choices: Sequence[Choice], page: int) -> list[Choice]:
    caps = ctx.incoming.capabilities
    per = _per_page(caps)
    start = page * per
    shown = list(choices[start : start + per])
    if start + per < len(choices):
        following = min(start + 2 * per, len(choices))
        shown.append(
            Choice(
                ctx.t("paging.more"),
                f"{PREFIX}{list_key(choices)}:{page + 1}",
                detail=ctx.t(
                    "paging.more_detail", first=start + per + 1, last=following, total=len(choices)
                ),
            )
        )
    return shown


def is_page_turn(payload: str | None) -> bool:
    return payload is not None and payload.startswith(PREFIX)


def show_page(ctx: Context) -> None:
    """The "more" choice: the next page of the list kept in the session."""
    key, _, number = (ctx.incoming.payload or "").removeprefix(PREFIX).partition(":")
    stored = ctx.session.state.get(_STATE)
    choices = (
        [Choice(str(c[0]), str(c[1]), str(c[2]) if len(c) > 2 else "") for c in stored]
        if isinstance(stored, list)
        else []
    )
    page = int(number) if number.isdigit() else 0
    caps = ctx.incoming.capabilities
    if not choices or list_key(choices) != key or not 0 < page < page_count(len(choices), caps):
        ctx.session.state.pop(_STATE, None)
        expired(ctx)
        return
    per = _per_page(caps)
    first, last = page * per + 1, min((page + 1) * per, len(choices))
    ctx.say(
        ctx.t(
            "paging.page",
            first=first,
            last=last,
            total=len(choices),
            page=page + 1,
            pages=page_count(len(choices), caps),
        ),
        *_page(ctx, choices, page),
    )


def fit(ctx: Context, *, turned: bool = False) -> list[Reply]:
    """The handler's replies as the person's channel can show them. `turned`: this message was
    a page turn, so the kept list stays."""
    caps = ctx.incoming.capabilities
    replies = ctx.replies
    if caps is UNLIMITED:  # the common case (Telegram) costs nothing
        if not turned:
            ctx.session.state.pop(_STATE, None)
        return replies
    paged = turned
    fitted = []
    for reply in replies:
        choices: Sequence[Choice] = reply.choices
        if len(choices) > caps.max_choices:
            # What a choice means is kept too: typed "TTS" finds its regency on any page.
            ctx.session.state[_STATE] = [
                [c.label, c.payload, c.means] if c.means else [c.label, c.payload] for c in choices
            ]
            choices = _page(ctx, choices, 0)
            paged = True
        limit = caps.button_label if len(choices) <= caps.max_buttons else caps.list_label
        shortened = tuple(
            c if len(c.label) <= limit else replace(c, label=clip(c.label, limit)) for c in choices
        )
        edit = reply.edit and caps.can_edit
        if shortened != reply.choices or edit != reply.edit:
            reply = replace(reply, choices=shortened, edit=edit)
        fitted.append(reply)
    if not paged:
        ctx.session.state.pop(_STATE, None)
    return fitted
