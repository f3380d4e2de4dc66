"""The HTTP server of `pustaka run` when a channel needs one: WhatsApp's webhook, Telegram in
webhook mode, and /healthz for the load balancer. Channels bring their own routes; this module
only assembles and runs them (aiohttp is a web framework, not a channel library). bot/serve.py
decides when it runs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiohttp import web

from bot import metrics

log = logging.getLogger(__name__)


def build_app(
    routes: Sequence[web.RouteDef],
    channels: Sequence[str],
    subapps: Mapping[str, web.Application] | None = None,
    health: Callable[[], Awaitable[dict[str, Any]]] | None = None,
) -> web.Application:
    served = list(channels)

    async def healthz(request: web.Request) -> web.Response:
        """For the load balancer: 200 while this instance can do its work. `health` adds whether
        the database answers and the roles held (bot/scaleout.py); no database, 503."""
        body: dict[str, Any] = {"ok": True, "channels": served}
        if health is not None:
            body.update(await health())
        return web.json_response(body, status=200 if body["ok"] else 503)

    async def prometheus(request: web.Request) -> web.Response:
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = metrics.CONTENT_TYPE
        return response

    app = web.Application(client_max_size=1024**2)  # webhooks are small; refuse floods early
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", prometheus)
    app.router.add_routes(routes)
    for prefix, subapp in (subapps or {}).items():
        app.add_subapp(prefix, subapp)  # the dashboard (bot/dashboard/web.py)
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
