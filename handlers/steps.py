"""One mechanism for every conversation that waits for an answer.

A flow is a set of named steps; each step declares what it accepts (one of its choices, a name, a
number, a date, free text, a code) and how to ask it again. The router gives every typed answer
to the step waiting for it; an answer that does not fit re-asks that step with a short hint and
the choices again, keeping everything answered so far (`reask`). Only a command, `/batal`, or a
tap on another screen's button leaves a flow; a flow that is `pausable` (registration) is then
kept for a day and offered again ("Lanjutkan pendaftaran …?").

Drafts (a flow's answers so far) are dataclasses of the feature, stored in the session as plain
JSON (`load_draft` / `keep`). A feature declares its flow once:

    FLOW = steps.register(steps.Flow(
        "reg", payloads={"reg", "rq", ...}, pausable=True,
        steps={"name": steps.Step(Accepts.NAME, ask=ask_name, typed=typed_name), ...}))

Staff flows use the same declarations (their `typed` and `ask` wrapped in the access check,
`stale_minutes=None`).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from handlers.types import Choice, Context

Command = Callable[[Context], Awaitable[None]]
D = TypeVar("D")

# A step left waiting this long no longer claims what is typed: after half an hour, "jam buka"
# is a question, not a name. (A pausable flow is then paused, not lost.)
STALE_MINUTES = 30
# A paused registration is offered again for a day.
PAUSE_MINUTES = 24 * 60


class Accepts(enum.Enum):
    CHOICE = "choice"  # one of the shown choices (typed loosely: see handlers/understand.py)
    NAME = "name"
    NUMBER = "number"
    DATE = "date"
    TEXT = "text"
    CODE = "code"


@dataclass(frozen=True, slots=True)
class Step:
    accepts: Accepts
    # Ask the question (again), with its choices; called by `reask`.
    ask: Command
    # For steps that take typed words: the handler of the text (it re-asks with its own hint
    # when the words do not fit, e.g. a name of one letter).
    typed: Command | None = None
    hint: str = "steps.hint_choice"


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    steps: Mapping[str, Step]
    # Payload prefixes of this flow's own buttons; any other button leaves the flow.
    payloads: frozenset[str] = frozenset()
    pausable: bool = False
    # Catalog key of what a paused flow is offered as ("Lanjutkan pendaftaran {title}?").
    resume_key: str = ""
    # After this many minutes typed text is no longer this flow's answer (None: never; a
    # librarian may spend an hour on an event's description, and expects it kept).
    stale_minutes: int | None = STALE_MINUTES
    extra: Mapping[str, Any] = field(default_factory=dict)


FLOWS: dict[str, Flow] = {}
# Buttons that belong to every flow: /batal's button, and WhatsApp's "more" row of a long list.
_ALWAYS_IN_FLOW = frozenset({"batal", "~more"})


def register(flow: Flow) -> Flow:
    if flow.name in FLOWS:
        raise ValueError(f"flow {flow.name!r} registered twice")
    FLOWS[flow.name] = flow
    return flow


def _minute(ctx: Context) -> int:
    return int(ctx.now.timestamp() // 60)


def start(ctx: Context, flow: Flow, step: str, draft: object | None = None) -> None:
    ctx.session.start_flow(flow.name, step, _as_state(draft))
    ctx.session.state["at"] = _minute(ctx)


def goto(ctx: Context, step: str) -> None:
    ctx.session.goto(step)
    ctx.session.state["at"] = _minute(ctx)


def end(ctx: Context) -> str | None:
    """The flow is over (done or cancelled): nothing of it is kept."""
    return ctx.session.end_flow()


def current(ctx: Context) -> tuple[Flow, Step | None] | None:
    flow = FLOWS.get(ctx.session.flow or "")
    if flow is None:
        return None
    return flow, flow.steps.get(ctx.session.step or "")


def fresh(ctx: Context) -> bool:
    found = current(ctx)
    limit = STALE_MINUTES if found is None else found[0].stale_minutes
    at = ctx.session.state.get("at")
    return limit is None or not isinstance(at, int) or _minute(ctx) - at <= limit


def belongs(flow: Flow, payload: str) -> bool:
    prefix = payload.partition(":")[0]
    return prefix in flow.payloads or prefix in _ALWAYS_IN_FLOW


def leave(ctx: Context) -> None:
    """Leave the flow because the person went elsewhere; a pausable flow is kept for a day."""
    found = current(ctx)
    if found is not None and found[0].pausable and ctx.session.draft is not None:
        state = ctx.session.state
        ctx.session.state["paused"] = {
            "flow": state.get("flow"),
            "step": state.get("step"),
            "draft": state.get("draft"),
            "at": _minute(ctx),
        }
    ctx.session.end_flow()


def paused(ctx: Context, flow: Flow) -> dict[str, Any] | None:
    """The draft of `flow` left within a day, if any (older ones are dropped)."""
    kept = ctx.session.state.get("paused")
    if not isinstance(kept, dict):
        return None
    at = kept.get("at")
    if not isinstance(at, int) or _minute(ctx) - at > PAUSE_MINUTES:
        ctx.session.state.pop("paused", None)
        return None
    draft = kept.get("draft")
    return draft if kept.get("flow") == flow.name and isinstance(draft, dict) else None


def resume(ctx: Context, flow: Flow) -> str | None:
    """Enter the paused flow again at its step; returns that step."""
    kept = ctx.session.state.pop("paused", None)
    if not isinstance(kept, dict) or kept.get("flow") != flow.name:
        return None
    step = str(kept.get("step") or "")
    start(ctx, flow, step, kept.get("draft"))
    return step


def offer(ctx: Context) -> tuple[str, Choice] | None:
    """A flow left half-way within the last day, as the main menu offers it again."""
    for flow in FLOWS.values():
        draft = paused(ctx, flow) if flow.pausable else None
        if draft is not None:
            values = {k: v for k, v in draft.items() if isinstance(v, str | int)}
            text = ctx.t(flow.resume_key, **values)
            return text, ctx.choice("steps.resume", "resume", means="yes")
    return None


async def resume_paused(ctx: Context, arg: str) -> bool:
    """The offer taken: the flow again at the step it was left, its question asked again."""
    for flow in FLOWS.values():
        if flow.pausable and paused(ctx, flow) is not None:
            step = flow.steps.get(resume(ctx, flow) or "")
            if step is not None:
                await step.ask(ctx)
                return True
            ctx.session.end_flow()
    return False


def forget_paused(ctx: Context) -> None:
    ctx.session.state.pop("paused", None)


async def reask(ctx: Context, step: Step) -> None:
    """The answer did not fit: a short hint, then the same question with its choices."""
    ctx.say(ctx.t(step.hint))
    await step.ask(ctx)


# --- typed drafts ---------------------------------------------------------------------------


def _as_state(draft: object | None) -> dict[str, Any] | None:
    if draft is None or isinstance(draft, dict):
        return draft
    if dataclasses.is_dataclass(draft) and not isinstance(draft, type):
        return dataclasses.asdict(draft)
    raise TypeError(f"a draft is a dataclass, not {type(draft).__name__}")


def keep(ctx: Context, draft: object) -> None:
    """Store the draft's answers in the session (saved with it after the message)."""
    ctx.session.state["draft"] = _as_state(draft)


def load_draft(ctx: Context, flow: Flow, cls: type[D]) -> D | None:
    """The draft of `flow` as its dataclass, if that flow is under way and the stored draft
    still fits the class (a draft from an older version of the code is dropped, not guessed)."""
    stored = ctx.session.draft
    if ctx.session.flow != flow.name or stored is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    try:
        return cls(**{k: v for k, v in stored.items() if k in names})
    except TypeError:
        return None
