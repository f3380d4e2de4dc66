"""Mounting the dashboard on the HTTP server of `pustaka run`, and the terminal chat's own small
server, so `make run` on a fresh clone can open it too."""

from __future__ import annotations

import dataclasses
import logging

from aiohttp import web

from bot.config import Settings
from bot.dashboard.web import PREFIX, Dashboard
from bot.runtime import Runtime
from bot.web import WebServer, build_app
from storage.clock import utcnow

log = logging.getLogger(__name__)

# The terminal chat's person: in `pustaka run` without any channel, whoever sits at the
# terminal owns the database file anyway, so they are its admin (and can open the dashboard).
TERMINAL_ADMIN = ("terminal", "local")


def dashboard_apps(runtime: Runtime) -> dict[str, web.Application]:
    settings = runtime.settings
    if settings.public_url is None:
        return {}
    dashboard = Dashboard(
        runtime.storage,
        runtime.translator,
        timezone=settings.timezone,
        public_url=settings.public_url,
    )
    return {PREFIX: dashboard.app()}


def terminal_settings(settings: Settings) -> Settings:
    """The terminal chat's settings: the dashboard at the local server unless an address was
    configured."""
    if settings.public_url is not None:
        return settings
    host = "localhost" if settings.http_host in ("127.0.0.1", "0.0.0.0") else settings.http_host
    return dataclasses.replace(settings, public_url=f"http://{host}:{settings.http_port}")


async def start_terminal_dashboard(runtime: Runtime) -> WebServer | None:
    """Serve the dashboard beside the terminal chat; None (and a line saying why) when the port
    is taken, since the chat works without it."""
    admins = [(a.channel, a.user_id) for a in runtime.settings.admins]
    await runtime.storage.staff.seed_admins([*admins, TERMINAL_ADMIN], now=utcnow())
    server = WebServer(build_app([], ["terminal"], dashboard_apps(runtime)))
    try:
        await server.start(runtime.settings.http_host, runtime.settings.http_port)
    except OSError as exc:
        print(f"Dashboard not started ({exc}); set PUSTAKA_HTTP_PORT to a free port.")
        await server.stop()
        return None
    print(f"Dashboard: send /dasbor here for a sign-in link ({runtime.settings.public_url}).")
    return server
