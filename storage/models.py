"""Dataclasses the repositories return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Regency:
    code: str
    name: str
    kind: str  # kabupaten | kota


@dataclass(frozen=True, slots=True)
class Resident:
    id: int
    channel: str
    external_id: str
    language: str
    consent_at: datetime | None
    name: str | None
    regency_code: str | None
    announcements_off: bool
    created_at: datetime
    # The platform said this person blocked the bot; cleared when they write again.
    unreachable: bool = False

    @property
    def has_consent(self) -> bool:
        return self.consent_at is not None


@dataclass(frozen=True, slots=True)
class Library:
    id: int
    slug: str
    name: str
    level: str  # province | regency | village
    regency_code: str
    village: str | None
    address: str
    opening_hours: str
    contact: str | None
    services: tuple[str, ...]
    is_sample: bool


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    slug: str
    library_id: int
    title: str
    category: str
    description: str
    place: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int | None
    seats_taken: int
    status: str
    questions: tuple[str, ...]
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    waitlist_limit: int | None
    is_sample: bool
    library_name: str
    regency_code: str

    @property
    def seats_left(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.seats_taken, 0)


@dataclass(slots=True)
class Session:
    """Conversation state of one chat identity; `state` is JSON-serialisable."""

    channel: str
    external_id: str
    state: dict[str, Any] = field(default_factory=dict)
    # The state as stored, so an unchanged state is not written again.
    stored: str = field(default="", repr=False, compare=False)

    @property
    def flow(self) -> str | None:
        value = self.state.get("flow")
        return value if isinstance(value, str) else None

    @property
    def step(self) -> str | None:
        value = self.state.get("step")
        return value if isinstance(value, str) else None

    @property
    def draft(self) -> dict[str, Any] | None:
        """The flow's answers so far (a feature's typed draft, as stored)."""
        value = self.state.get("draft")
        return value if isinstance(value, dict) else None

    def start_flow(self, flow: str, step: str, draft: dict[str, Any] | None = None) -> None:
        """Enter `flow` at `step`; a draft given replaces any earlier one, none drops it."""
        self.state.update(flow=flow, step=step)
        if draft is None:
            self.state.pop("draft", None)
        else:
            self.state["draft"] = draft

    def goto(self, step: str) -> None:
        self.state["step"] = step

    def end_flow(self) -> str | None:
        """Leave whatever flow is under way; returns the flow left, if any."""
        flow = self.flow
        for key in ("flow", "step", "draft", "at"):
            self.state.pop(key, None)
        return flow
