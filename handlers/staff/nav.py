"""Back and Menu under every staff screen, so no screen is a dead end."""

from __future__ import annotations

from handlers.types import Choice, Context

STAFF_MENU = "stc:peran"


def nav(ctx: Context, back: str | None = None) -> list[Choice]:
    """[‹ Back (to `back`)] [Staff menu]; without `back` only the menu."""
    found = []
    if back is not None:
        found.append(ctx.choice("staff_safety.nav.back", back))
    found.append(ctx.choice("staff_safety.nav.menu", STAFF_MENU))
    return found
