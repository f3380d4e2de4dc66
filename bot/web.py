"""The HTTP server of `pustaka run` when a channel needs one: WhatsApp's webhook, Telegram in
webhook mode, and /healthz for the load balancer. Channels bring their own routes; this module
only assembles and runs them (aiohttp is a web framework, not a channel library)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiohttp import web

from bot.runtime import Runtime

log = logging.getLogger(__name__)


def build_app(routes: Sequence[web.RouteDef], channels: Sequence[str]) -> web.Application:
    served = list(channels)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "channels": served})

    app = web.Application(client_max_size=1024**2)  # webhooks are small; refuse floods early
    app.router.add_get("/healthz", healthz)
    app.router.add_routes(routes)
    return app


class WebServer:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._runner = web.AppRunner(app, access_log=None)
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0: any free port); returns the port."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else port
        return self.port

    async def stop(self) -> None:
        await self._runner.cleanup()


async def serve(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run every configured channel until `stop` is set: WhatsApp and Telegram webhooks on the
    HTTP server, Telegram by long polling when no webhook URL is set."""
    settings = runtime.settings
    routes: list[web.RouteDef] = []
    channels: list[str] = []
    whatsapp = None
    if settings.whatsapp is not None:
        from bot.channels.whatsapp import WhatsAppChannel

        whatsapp = WhatsAppChannel(
            settings.whatsapp, runtime.dispatcher, runtime.translator, runtime.storage
        )
        await whatsapp.start()
        routes += whatsapp.routes()
        channels.append("whatsapp")
    telegram_app = None
    webhook = None
    if settings.telegram_token is not None:
        from bot.channels.telegram import TelegramChannel
        from bot.channels.telegram_webhook import TelegramWebhook

        telegram_app = TelegramChannel(settings, runtime.dispatcher, runtime.translator).build()
        if settings.telegram_webhook_url and settings.telegram_webhook_token:
            webhook = TelegramWebhook(telegram_app, settings.telegram_webhook_token.get())
            routes += webhook.routes()
        channels.append("telegram")
    server = WebServer(build_app(routes, channels))
    try:
        # Listen before telling Telegram where to post: its first updates may come at once.
        port = await server.start(settings.http_host, settings.http_port)
        if telegram_app is not None:
            await telegram_app.initialize()
            await telegram_app.start()
            if webhook is not None and settings.telegram_webhook_url:
                await webhook.register(settings.telegram_webhook_url)
            elif telegram_app.updater is not None:
                await telegram_app.updater.start_polling()
        log.info("serving %s on http://%s:%s", ", ".join(channels), settings.http_host, port)
        await stop.wait()
        log.info("shutting down")
    finally:
        await server.stop()
        if whatsapp is not None:
            await whatsapp.close()
        if telegram_app is not None:
            if telegram_app.updater is not None and telegram_app.updater.running:
                await telegram_app.updater.stop()
            if telegram_app.running:
                await telegram_app.stop()
            await telegram_app.shutdown()  # a no-op if start-up failed before initialize()
