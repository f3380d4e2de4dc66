"""`pustaka run` with channels configured: every channel, the HTTP server when one needs it, and
the delivery service, started in order and stopped in the reverse order.

Start: the HTTP server listens first (Telegram's or Meta's first webhook may come at once), then
Telegram starts (webhook registered or long polling), then delivery. Stop: no new input first,
then delivery finishes or gives back its rows while the senders still work, then the channels.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.channels.base import ChannelSender, Outbound
from bot.delivery.limits import ChannelLimiter, Limits
from bot.delivery.replies import ReplyRescue
from bot.delivery.service import for_settings, telegram_limiter
from bot.ops import OpsAlerts
from bot.runtime import Runtime
from bot.web import WebServer, build_app

if TYPE_CHECKING:
    from aiohttp import web

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
    routes: list[web.RouteDef] = []
    channels: list[str] = []
    senders: dict[str, ChannelSender] = {}
    limiters: dict[str, ChannelLimiter] = {}

    # Replies a platform did not take wait in the outbox (bot/delivery/replies.py).
    rescue = ReplyRescue(runtime.storage)
    whatsapp = None
    if settings.whatsapp is not None:
        from bot.channels.whatsapp import CHANNEL as WHATSAPP
        from bot.channels.whatsapp import WhatsAppChannel

        whatsapp = WhatsAppChannel(
            settings.whatsapp, runtime.dispatcher, runtime.translator, runtime.storage
        )
        whatsapp.rescue = rescue
        await whatsapp.start()
        routes += whatsapp.routes()
        channels.append(WHATSAPP)
        senders[WHATSAPP] = whatsapp.sender
        # The sender's own bucket puts replies first; this one paces the outbox per person too.
        limiters[WHATSAPP] = ChannelLimiter(Limits(overall_rate=settings.whatsapp.throughput))

    telegram = app = webhook = None
    if settings.telegram_token is not None:
        from bot.channels.telegram import CHANNEL as TELEGRAM
        from bot.channels.telegram import TelegramChannel, TelegramSender
        from bot.channels.telegram_webhook import TelegramWebhook

        # One limiter for Telegram, shared by replies (first) and the outbox worker.
        limiter = telegram_limiter(settings)
        telegram = TelegramChannel(
            settings, runtime.dispatcher, runtime.translator, limiter=limiter, rescue=rescue
        )
        app = telegram.build()
        if settings.telegram_webhook_url and settings.telegram_webhook_token:
            webhook = TelegramWebhook(app, settings.telegram_webhook_token.get())
            routes += webhook.routes()
        channels.append(TELEGRAM)
        senders[TELEGRAM] = TelegramSender(app.bot)
        limiters[TELEGRAM] = limiter

    delivery = for_settings(runtime.storage, runtime.translator, settings, senders, limiters)
    rescue.wake = delivery.worker.wake
    alerts = ops_alerts(runtime, senders)
    server = WebServer(build_app(routes, channels)) if settings.web_enabled else None
    delivering = False
    problems: list[str] = []
    try:
        if alerts is not None:
            alerts.start()
        if server is not None:
            port = await server.start(settings.http_host, settings.http_port)
            log.info("HTTP server on http://%s:%s", settings.http_host, port)
        if app is not None and telegram is not None:
            await app.initialize()
            await telegram.register_commands(app)
            await app.start()
            if webhook is not None and settings.telegram_webhook_url:
                await webhook.register(settings.telegram_webhook_url)
            elif app.updater is not None:
                await app.updater.start_polling()
        await delivery.start()
        delivering = True
        log.info("serving %s", ", ".join(channels))
        watcher = asyncio.get_running_loop().create_task(
            watch_database(runtime, stop, problems), name="database-watch"
        )
        await stop.wait()
        watcher.cancel()
        log.info("shutting down")
    finally:
        if app is not None and app.updater is not None and app.updater.running:
            await app.updater.stop()
        if server is not None:
            await server.stop()
        # Replies still waiting for a token (a group's turn can be a minute away) are kept in
        # the outbox rather than waited for: a SIGTERM must not wait for the whole backlog.
        for channel_limiter in limiters.values():
            await channel_limiter.close()
        if delivering:
            await delivery.stop()
        if whatsapp is not None:
            await whatsapp.close()
        if app is not None:
            if app.running:
                await app.stop()
            await app.shutdown()  # a no-op if start-up failed before initialize()
        if alerts is not None:
            await alerts.stop()
    return 1 if problems else 0
