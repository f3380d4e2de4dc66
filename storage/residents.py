"""Residents: one row per channel identity (Telegram user id, WhatsApp number, terminal user)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.clock import from_db, opt_from_db, to_db
from storage.db import Database
from storage.errors import ConsentRequired, NotFound
from storage.models import Resident

RESIDENT_COLUMNS = (
    "id, channel, external_id, language, consent_at, name, regency_code, "
    "announcements_off, created_at, unreachable_at"
)


def resident_from_row(row: Any) -> Resident:
    return Resident(
        id=row["id"],
        channel=row["channel"],
        external_id=row["external_id"],
        language=row["language"],
        consent_at=opt_from_db(row["consent_at"]),
        name=row["name"],
        regency_code=row["regency_code"],
        announcements_off=bool(row["announcements_off"]),
        created_at=from_db(row["created_at"]),
        unreachable=row["unreachable_at"] is not None,
    )


class Residents:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, *, channel: str, external_id: str) -> Resident | None:
        """The resident behind a chat identity, or None for someone who never chose a language."""
        row = await self._db.fetchone(
            f"SELECT {RESIDENT_COLUMNS} FROM residents WHERE channel = ? AND external_id = ?",
            (channel, external_id),
            inline=True,
        )
        return None if row is None else resident_from_row(row)

    async def get(self, *, resident_id: int) -> Resident:
        row = await self._db.fetchone(
            f"SELECT {RESIDENT_COLUMNS} FROM residents WHERE id = ?", (resident_id,), inline=True
        )
        if row is None:
            raise NotFound("resident", resident_id)
        return resident_from_row(row)

    async def ensure(
        self, *, channel: str, external_id: str, language: str, now: datetime
    ) -> Resident:
        """Create the bare identity row (chat id and interface language only) or update language."""
        stamp = to_db(now)
        rows = await self._db.write(
            "INSERT INTO residents (channel, external_id, language, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (channel, external_id) "
            "DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at "
            f"RETURNING {RESIDENT_COLUMNS}",
            (channel, external_id, language, stamp, stamp),
        )
        return resident_from_row(rows[0])

    async def give_consent(self, *, resident_id: int, now: datetime) -> Resident:
        return await self._update(resident_id, now, consent_at=to_db(now))

    async def set_regency(self, *, resident_id: int, regency_code: str, now: datetime) -> Resident:
        return await self._update(resident_id, now, personal=True, regency_code=regency_code)

    async def set_name(self, *, resident_id: int, name: str, now: datetime) -> Resident:
        return await self._update(resident_id, now, personal=True, name=name)

    async def set_announcements_off(
        self, *, resident_id: int, off: bool, now: datetime
    ) -> Resident:
        return await self._update(resident_id, now, announcements_off=int(off))

    async def set_language(self, *, resident_id: int, language: str, now: datetime) -> Resident:
        return await self._update(resident_id, now, language=language)

    async def delete_personal_data(self, *, resident_id: int, now: datetime) -> None:
        """Withdraw consent: the profile goes; only the bare identity row (chat id, language) stays
        so the bot can still answer this chat."""
        await self._update(
            resident_id,
            now,
            consent_at=None,
            name=None,
            regency_code=None,
            announcements_off=0,
            sms_phone=None,
            sms_verified_at=None,
        )

    async def _update(
        self, resident_id: int, now: datetime, *, personal: bool = False, **values: object
    ) -> Resident:
        """One UPDATE ... RETURNING; `personal` values are refused without consent, checked by
        the same statement so no read-then-write gap exists."""
        assignments = ", ".join(f"{column} = ?" for column in values)
        guard = " AND consent_at IS NOT NULL" if personal else ""
        rows = await self._db.write(
            f"UPDATE residents SET {assignments}, updated_at = ? WHERE id = ?{guard} "
            f"RETURNING {RESIDENT_COLUMNS}",
            (*values.values(), to_db(now), resident_id),
        )
        if rows:
            return resident_from_row(rows[0])
        await self.get(resident_id=resident_id)  # raises NotFound for a missing resident
        raise ConsentRequired(f"resident {resident_id} has not agreed to the privacy notice")
