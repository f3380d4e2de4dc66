"""`pustaka run` with channels configured: every channel (bot/wiring.py), the HTTP server when
one needs it, and the delivery service, started in order and stopped in the reverse order.

Start: each channel gets ready (clients opened; Telegram's webhook registered or long polling
started), then the HTTP server listens, then delivery. Stop: no new webhooks first, then delivery
finishes or gives back its rows while the senders still work, then the channels.
"""

from __future__ import annotations

import asyncio
import logging

from bot.catalogue.schedule import NightlyHarvest
from bot.channels.base import Channel
from bot.dashboard.serve import dashboard_apps
from bot.delivery.service import DeliveryService, for_settings
from bot.runtime import Runtime
from bot.scaleout import ScaleOut
from bot.web import WebServer, build_app
from bot.wiring import build_channels

log = logging.getLogger(__name__)


async def serve(runtime: Runtime, stop: asyncio.Event) -> None:
    settings = runtime.settings
    channels = build_channels(runtime)
    routes = [route for channel in channels for route in channel.routes()]
    names = [channel.name for channel in channels]
    dashboards = dashboard_apps(runtime)
    served = routes or dashboards or settings.web_enabled
    # PostgreSQL: inbox, shared limits, leader (bot/scaleout.py); SQLite: nothing changes.
    scale = ScaleOut(runtime.storage)
    scale.connect(channels)

    async def health() -> dict[str, object]:
        reachable = await runtime.storage.db.ping()
        return {"ok": reachable, "database": reachable, "roles": scale.roles()}

    app = build_app(routes, names, dashboards, health=health)
    server = WebServer(app) if served else None
    started: list[Channel] = []
    delivery: DeliveryService | None = None
    try:
        for channel in channels:
            started.append(channel)
            await channel.start()
        if server is not None:
            port = await server.start(settings.http_host, settings.http_port)
            log.info("HTTP server on http://%s:%s", settings.http_host, port)
        # Senders exist once their channel started (a channel opens its HTTP client in start()).
        delivery = for_settings(
            runtime.storage,
            runtime.translator,
            settings,
            {channel.name: channel.sender for channel in channels},
            {channel.name: channel.limiter for channel in channels},
        )
        scale.attach(delivery)
        await scale.start()
        await delivery.start()
        scale.delivering = True
        # Every instance schedules it; only the one holding the leader lock runs it.
        NightlyHarvest(runtime.storage, settings.timezone, is_leader=delivery.is_leader).attach(
            delivery.scheduler
        )
        log.info("serving %s", ", ".join(names))
        await stop.wait()
        log.info("shutting down")
    finally:
        if server is not None:
            await server.stop()
        if delivery is not None:
            await delivery.stop()
            scale.delivering = False
        await scale.stop()
        for channel in reversed(started):
            try:
                await channel.stop()
            except Exception:
                log.exception("stopping %s failed", channel.name)
