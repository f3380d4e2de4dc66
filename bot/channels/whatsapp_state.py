"""What the WhatsApp channel keeps in the database, as the channel asks for it.

The channel declares this protocol and never imports `storage`; the wiring (bot/wiring.py)
hands it storage/whatsapp.py's repository, which fits it structurally (mypy checks that where
the two meet). Records come back as read-only shapes, so the repository's own dataclasses do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Address(Protocol):
    """Where a WhatsApp identity is reached: `to` its phone, else `recipient` its user id."""

    @property
    def identity(self) -> str: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def marketing_stopped(self) -> bool: ...


class OutsideReach(Protocol):
    """A place among the people reached outside their window in 24 hours: `added` when this
    took a new place, `full_until` when none was left."""

    @property
    def added(self) -> bool: ...
    @property
    def full_until(self) -> datetime | None: ...


class FailedRow(Protocol):
    """The outbox row a `failed` receipt belongs to."""

    @property
    def id(self) -> int: ...
    @property
    def recipient(self) -> str: ...
    @property
    def resident_id(self) -> int | None: ...
    @property
    def attempts(self) -> int: ...


class AccountPause(Protocol):
    @property
    def until(self) -> datetime: ...
    @property
    def code(self) -> int | None: ...
    @property
    def reason(self) -> str: ...


class WhatsAppState(Protocol):
    """Seen message ids, the 24-hour windows, identities, reach limit, receipts, marketing
    opt-outs, the account pause and uploaded photos (storage/whatsapp.py WhatsAppRepo)."""

    async def claim_message(self, *, message_id: str, now: datetime) -> bool: ...

    async def record_inbound(self, *, phone: str, at: datetime) -> None: ...

    async def in_window(self, *, phone: str, now: datetime) -> bool: ...

    async def reserve_outside_reach(
        self, *, phone: str, now: datetime, limit: int
    ) -> OutsideReach: ...

    async def release_outside_reach(self, *, phone: str) -> None: ...

    async def record_status(
        self, *, external_id: str, status: str, at: datetime, error: str | None = None
    ) -> FailedRow | None: ...

    async def late_failure(
        self,
        *,
        outbox_id: int,
        status: str,
        reason: str,
        at: datetime,
        due_at: datetime | None = None,
        count_attempt: bool = True,
    ) -> None: ...

    async def late_unreachable(
        self, *, outbox_id: int, recipient: str, resident_id: int | None, at: datetime
    ) -> None: ...

    async def resolve_identity(
        self, *, phone: str | None, user_id: str | None, now: datetime
    ) -> str: ...

    async def change_number(
        self,
        *,
        old_phone: str | None,
        old_user_id: str | None,
        new_phone: str | None,
        new_user_id: str | None,
        now: datetime,
    ) -> str | None: ...

    async def address(self, *, identity: str) -> Address: ...

    async def set_marketing(self, *, identity: str, stopped: bool, at: datetime) -> None: ...

    async def pause_account(
        self, *, until: datetime, code: int | None, reason: str, now: datetime
    ) -> bool: ...

    async def account_pause(self, *, now: datetime) -> AccountPause | None: ...

    async def alert_admins(
        self, *, key: str, texts: dict[str, str], now: datetime, skip_channel: str
    ) -> int: ...

    async def uploaded(self, *, source: str, now: datetime) -> str | None: ...

    async def remember_upload(self, *, source: str, media_id: str, now: datetime) -> None: ...
