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
from bot.channels.base import Channel, ChannelSender, Outbound
from bot.dashboard.serve import dashboard_apps
from bot.delivery.replies import ReplyRescue
from bot.delivery.service import DeliveryService, for_settings
from bot.ops import OpsAlerts
from bot.runtime import Runtime
from bot.scaleout import ScaleOut
from bot.web import WebServer, build_app
from bot.wiring import build_channels

log = logging.getLogger(__name__)


# How often the database file is checked for removal or replacement (storage/guard.py).
WATCH_SECONDS = 2.0


async def watch_database(runtime: Runtime, stop: asyncio.Event, problems: list[str]) -> None:
    """Stop, with one clear log line, once the database file is removed or replaced: the open
    connection would go on answering from a file nobody can find, losing everything."""
    guard = runtime.storage.guard
    if guard is None:
        return
    while not stop.is_set():
        await asyncio.sleep(WATCH_SECONDS)
        problem = guard.problem()
        if problem is not None:
            log.critical(
                "%s; stopping. Restore the file (or remove its marker) and start again.", problem
            )
            problems.append(problem)
            stop.set()
            return


def ops_alerts(runtime: Runtime, senders: dict[str, ChannelSender]) -> OpsAlerts | None:
    """The operators' chat (PUSTAKA_OPS_CHAT), when it is set and its channel is served."""
    chat = runtime.settings.ops_chat
    if chat is None:
        return None
    sender = senders.get(chat.channel)
    if sender is None:
        log.warning("PUSTAKA_OPS_CHAT is on %s, which is not served: no alerts", chat.channel)
        return None

    async def send(text: str) -> None:
        await sender.send(Outbound(recipient=chat.user_id, text=text, kind="ops"))

    return OpsAlerts(send, runtime.translator)


async def serve(runtime: Runtime, stop: asyncio.Event) -> int:
    """Serve until `stop` is set; 0, or 1 when the database file went away underneath."""
    settings = runtime.settings
    channels = build_channels(runtime)
    # Replies a platform did not take wait in the outbox (bot/delivery/replies.py).
    rescue = ReplyRescue(runtime.storage)
    for channel in channels:
        inner = getattr(channel, "channel", None)
        if inner is not None and hasattr(inner, "rescue"):
            inner.rescue = rescue
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
    alerts: OpsAlerts | None = None
    problems: list[str] = []
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
        rescue.wake = delivery.worker.wake
        alerts = ops_alerts(runtime, {channel.name: channel.sender for channel in channels})
        if alerts is not None:
            alerts.start()
        scale.attach(delivery)
        await scale.start()
        await delivery.start()
        scale.delivering = True
        # Every instance schedules it; only the one holding the leader lock runs it.
        NightlyHarvest(runtime.storage, settings.timezone, is_leader=delivery.is_leader).attach(
            delivery.scheduler
        )
        log.info("serving %s", ", ".join(names))
        watcher = asyncio.get_running_loop().create_task(
            watch_database(runtime, stop, problems), name="database-watch"
        )
        await stop.wait()
        watcher.cancel()
        log.info("shutting down")
    finally:
        if server is not None:
            await server.stop()
        # Replies still waiting for a token (a group's turn can be a minute away) are kept in
        # the outbox rather than waited for: a SIGTERM must not wait for the whole backlog.
        for channel in started:
            await channel.limiter.close()
        if delivery is not None:
            await delivery.stop()
            scale.delivering = False
        await scale.stop()
        for channel in reversed(started):
            try:
                await channel.stop()
            except Exception:
                log.exception("stopping %s failed", channel.name)
        if alerts is not None:
            await alerts.stop()
    return 1 if problems else 0
