"""Residents: one row per channel identity (Telegram user id, WhatsApp number, terminal user)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.clock import from_db, opt_from_db, to_db, utcnow
from storage.db import Database
from storage.errors import ConsentRequired, NotFound
from storage.models import Resident

_COLUMNS = (
    "id, channel, external_id, language, consent_at, name, regency_code, "
    "announcements_off, created_at"
)


def _resident(row: Any) -> Resident:
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
    )


class Residents:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, *, channel: str, external_id: str) -> Resident | None:
        """The resident behind a chat identity, or None for someone who never chose a language."""
        async with self._db.reader.execute(
            f"SELECT {_COLUMNS} FROM residents WHERE channel = ? AND external_id = ?",
            (channel, external_id),
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else _resident(row)

    async def get(self, *, resident_id: int) -> Resident:
        async with self._db.reader.execute(
            f"SELECT {_COLUMNS} FROM residents WHERE id = ?", (resident_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound("resident", resident_id)
        return _resident(row)

    async def ensure(
        self, *, channel: str, external_id: str, language: str, now: datetime | None = None
    ) -> Resident:
        """Create the bare identity row (chat id and interface language only) or update language."""
        stamp = to_db(now or utcnow())
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO residents (channel, external_id, language, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (channel, external_id) "
                "DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at",
                (channel, external_id, language, stamp, stamp),
            )
            async with conn.execute(
                f"SELECT {_COLUMNS} FROM residents WHERE channel = ? AND external_id = ?",
                (channel, external_id),
            ) as cur:
                row = await cur.fetchone()
        return _resident(row)

    async def give_consent(self, *, resident_id: int, now: datetime | None = None) -> Resident:
        await self._update(resident_id, consent_at=to_db(now or utcnow()))
        return await self.get(resident_id=resident_id)

    async def set_regency(self, *, resident_id: int, regency_code: str) -> Resident:
        await self._require_consent(resident_id)
        await self._update(resident_id, regency_code=regency_code)
        return await self.get(resident_id=resident_id)

    async def set_name(self, *, resident_id: int, name: str) -> Resident:
        await self._require_consent(resident_id)
        await self._update(resident_id, name=name)
        return await self.get(resident_id=resident_id)

    async def set_announcements_off(self, *, resident_id: int, off: bool) -> Resident:
        await self._update(resident_id, announcements_off=int(off))
        return await self.get(resident_id=resident_id)

    async def set_language(self, *, resident_id: int, language: str) -> Resident:
        await self._update(resident_id, language=language)
        return await self.get(resident_id=resident_id)

    async def delete_personal_data(self, *, resident_id: int) -> None:
        """Withdraw consent: the profile goes; only the bare identity row (chat id, language) stays
        so the bot can still answer this chat."""
        await self._update(
            resident_id, consent_at=None, name=None, regency_code=None, announcements_off=0
        )

    async def _require_consent(self, resident_id: int) -> None:
        resident = await self.get(resident_id=resident_id)
        if not resident.has_consent:
            raise ConsentRequired(f"resident {resident_id} has not agreed to the privacy notice")

    async def _update(self, resident_id: int, **values: object) -> None:
        assignments = ", ".join(f"{column} = ?" for column in values)
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                f"UPDATE residents SET {assignments}, updated_at = ? WHERE id = ?",
                (*values.values(), to_db(utcnow()), resident_id),
            )
            if cur.rowcount == 0:
                raise NotFound("resident", resident_id)
