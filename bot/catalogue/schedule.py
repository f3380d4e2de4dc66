"""The nightly harvest: APScheduler starts it at 02:00 local time (WITA), when nobody is chatting
and the libraries' servers are quiet; it holds no state (the sources' rows say what was
harvested when).

Every instance schedules it in its delivery service's scheduler; when several instances serve
one database, only the one holding the leader lock (bot/scaleout.py) runs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.catalogue.harvest import harvest_all
from bot.catalogue.progress import Progress
from bot.catalogue.sample import bundled_server
from storage import Storage

log = logging.getLogger(__name__)

JOB_ID = "catalogue-harvest"


class NightlyHarvest:
    def __init__(
        self,
        storage: Storage,
        timezone: str,
        *,
        hour: int = 2,
        minute: int = 0,
        is_leader: Callable[[], bool] = lambda: True,
    ):
        self.storage = storage
        self.is_leader = is_leader
        self.trigger = CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(timezone))
        self.at = f"{hour:02d}.{minute:02d} ({timezone})"

    def attach(self, scheduler: Any) -> None:
        # A night missed (the machine was off) is made up within six hours, not skipped.
        scheduler.add_job(
            self.run,
            self.trigger,
            id=JOB_ID,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=6 * 3600,
        )
        log.info("catalogue harvest scheduled nightly at %s", self.at)

    async def run(self) -> None:
        if not self.is_leader():
            return
        try:
            if not await self.storage.catalogue.sources():
                return
            async with bundled_server() as url_for:
                outcomes = await harvest_all(
                    self.storage, url_for=url_for, progress_for=Progress.for_stream
                )
        except Exception:
            log.exception("the nightly catalogue harvest failed; tomorrow's tries again")
            return
        failed = [o for o in outcomes if o.error is not None]
        log.info(
            "nightly catalogue harvest: %d libraries, %d failed%s",
            len(outcomes),
            len(failed),
            "".join(f"; {o.slug}: {o.error}" for o in failed),
        )
