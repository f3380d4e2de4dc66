"""Data and its rules: SQL lives only in this package."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage.broadcasts import Broadcasts
from storage.catalogue import Catalogue
from storage.dashboard import DashboardRepo
from storage.db import BUSY_TIMEOUT_MS, Database
from storage.events import Events
from storage.guard import FileGuard, check_before_open, stamp
from storage.libraries import Libraries
from storage.outbox import OutboxRepo
from storage.privacy import Privacy
from storage.registrations import Registrations
from storage.reminders import Reminders
from storage.residents import Residents
from storage.sessions import Sessions
from storage.sms import SmsRepo
from storage.staff import Staff
from storage.staff_events import StaffEvents
from storage.stats import Stats
from storage.whatsapp import WhatsAppRepo


@dataclass
class Storage:
    """The repositories over one database, opened once at start-up."""

    db: Database
    residents: Residents
    libraries: Libraries
    events: Events
    sessions: Sessions
    staff: Staff
    broadcasts: Broadcasts
    staff_events: StaffEvents
    stats: Stats
    registrations: Registrations
    outbox: OutboxRepo
    reminders: Reminders
    sms: SmsRepo
    whatsapp: WhatsAppRepo
    catalogue: Catalogue
    dashboard: DashboardRepo
    privacy: Privacy
    # Notices the file removed or replaced under the running bot (storage/guard.py).
    guard: FileGuard | None = None

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Storage:
        check_before_open(path)  # a missing database is not silently replaced by an empty one
        db = await Database.open(path, busy_timeout_ms=busy_timeout_ms)
        try:
            await stamp(db)
        except Exception:
            await db.close()
            raise
        return cls(
            db=db,
            residents=Residents(db),
            libraries=Libraries(db),
            events=Events(db),
            sessions=Sessions(db),
            staff=Staff(db),
            broadcasts=Broadcasts(db),
            staff_events=StaffEvents(db),
            stats=Stats(db),
            registrations=Registrations(db),
            outbox=OutboxRepo(db),
            reminders=Reminders(db),
            sms=SmsRepo(db),
            whatsapp=WhatsAppRepo(db),
            catalogue=Catalogue(db),
            dashboard=DashboardRepo(db),
            privacy=Privacy(db),
            guard=FileGuard.capture(db.path),
        )

    async def close(self) -> None:
        await self.catalogue.close()
        await self.db.close()
