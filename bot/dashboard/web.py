"""The dashboard's HTTP side: sign-in from a chat link, the session cookie, every page and
download, mounted under /dasbor on the `pustaka run` server (bot/web.py).

Sign-in is two steps on purpose: opening the link shows a page with one button, and only the
button (a POST) uses the link. Chat apps fetch links to draw previews; a GET that signed in would
let Telegram's preview fetcher spend the one use.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web
from babel.numbers import format_decimal

from bot.dashboard import charts
from bot.dashboard.pages import Month, Pages
from bot.dashboard.tables import Cell, Column, Table, csv_bytes, xlsx_bytes
from bot.i18n import LANGUAGES, Translator
from handlers.staff.stats import parse_month
from storage import Storage
from storage.clock import utcnow
from storage.dashboard import FAILURE_LIMIT, FAILURE_WINDOW, SESSION_ABSOLUTE, WebSession

PREFIX = "/dasbor"
COOKIE = "pustaka_dasbor"
REFRESH_SECONDS = 30
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# No scripts, no outside fonts or images; styles from our own file; forms post only here.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # The sign-in page's address holds the link's token: never sent on to anyone.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
_NAV = (
    ("overview", ""),
    ("areas", "wilayah"),
    ("events", "acara"),
    ("announcements", "pengumuman"),
    ("delivery", "pengiriman"),
    ("charts", "grafik"),
)

Clock = Callable[[], datetime]


class View:
    """One signed-in request: who, in which language, for which month."""

    def __init__(self, request: web.Request, session: WebSession, pages: Pages, notice: str):
        self.request = request
        self.session = session
        self.pages = pages
        self.notice = notice
        self.csrf = _csrf(request.cookies.get(COOKIE, ""))

    @property
    def language(self) -> str:
        return self.pages.language

    @property
    def month(self) -> Month:
        return self.pages.month

    def url(self, path: str, **query: str) -> str:
        values = {"month": self.month.label} | query
        return f"{PREFIX}/{path}?{urlencode(values)}"

    def sort_url(self, table: Table, column: Column) -> str:
        key = f"{table.key}.{column.key}"
        current = self.request.query.get("sort") == key
        descending = not (current and self.request.query.get("dir", "desc") == "desc")
        if not current:
            descending = column.numeric or column.percent
        path = self.request.path.removeprefix(PREFIX + "/").removeprefix(PREFIX)
        return self.url(path, sort=key, dir="desc" if descending else "asc")

    def sort_mark(self, table: Table, column: Column) -> str:
        if self.request.query.get("sort") != f"{table.key}.{column.key}":
            return ""
        return " ▼" if self.request.query.get("dir", "desc") == "desc" else " ▲"

    def sorted(self, table: Table) -> Table:
        key, _, column = self.request.query.get("sort", "").partition(".")
        if key != table.key:
            return table
        return table.sorted_by(column, self.request.query.get("dir", "desc") == "desc")

    def download_url(self, table: str, ext: str) -> str:
        """The file of a table, sorted as the page shows it."""
        query = {k: self.request.query[k] for k in ("sort", "dir") if k in self.request.query}
        return self.url(f"unduh/{table}.{ext}", **query)

    def number(self, value: int) -> str:
        return str(format_decimal(value, locale=self.language))

    def percent(self, rate: float | None) -> str:
        if rate is None:
            return "–"
        return str(format_decimal(round(rate * 100, 1), "0.0", locale=self.language)) + " %"

    def cell(self, column: Column, value: Cell) -> str:
        if value is None:
            return "–"
        if column.percent and isinstance(value, int | float):
            return str(format_decimal(round(value * 100, 1), "0.0", locale=self.language))
        if isinstance(value, float):
            return str(format_decimal(value, "0.0", locale=self.language))
        if isinstance(value, int):
            return str(format_decimal(value, locale=self.language))
        return value


def _int(value: Cell) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _csrf(token: str) -> str:
    return hashlib.sha256(f"csrf:{token}".encode()).hexdigest()[:32]


def _address(request: web.Request) -> str:
    """The client's address; behind a reverse proxy on this machine, the one it forwarded."""
    remote = request.remote or "-"
    forwarded = request.headers.get("X-Forwarded-For", "")
    if remote in ("127.0.0.1", "::1") and forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()[:64] or remote
    return remote


class Dashboard:
    def __init__(
        self,
        storage: Storage,
        translator: Translator,
        *,
        timezone: str,
        public_url: str,
        clock: Clock = utcnow,
    ) -> None:
        self.storage = storage
        self.translator = translator
        self.timezone = timezone
        self.secure = public_url.startswith("https://")
        self.clock = clock

    # Application ---------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The sub-application mounted at PREFIX."""
        app = web.Application(middlewares=[_headers])
        env = aiohttp_jinja2.setup(
            app,
            loader=jinja2.PackageLoader("bot.dashboard", "templates"),
            autoescape=jinja2.select_autoescape(["html"], default=True),
            undefined=jinja2.StrictUndefined,
        )
        env.globals["PREFIX"] = PREFIX
        app.router.add_get("", self._overview_redirect)
        app.router.add_get("/", self._page(self.overview))
        app.router.add_get("/gaya.css", self.stylesheet)
        app.router.add_get("/masuk/{token}", self.sign_in_page)
        app.router.add_post("/masuk", self.sign_in)
        app.router.add_post("/keluar", self.sign_out)
        app.router.add_get("/wilayah", self._page(self.areas))
        app.router.add_get("/acara", self._page(self.events))
        app.router.add_get(r"/acara/{event_id:\d{1,12}}", self._page(self.event))
        app.router.add_get("/pengumuman", self._page(self.announcements))
        app.router.add_get("/pengiriman", self._page(self.delivery))
        app.router.add_get("/grafik", self._page(self.charts))
        app.router.add_get(
            r"/unduh/{name:[a-z0-9_-]{1,40}}.{ext:csv|xlsx}", self._page(self.download)
        )
        return app

    async def _overview_redirect(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": PREFIX + "/"})

    async def stylesheet(self, request: web.Request) -> web.StreamResponse:
        from importlib import resources

        css = resources.files("bot.dashboard").joinpath("static/gaya.css").read_bytes()
        return web.Response(
            body=css,
            content_type="text/css",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    def _language(self, request: web.Request) -> str:
        wanted = request.query.get("lang")
        if wanted in LANGUAGES:
            return str(wanted)
        accept = request.headers.get("Accept-Language", "")
        return "en" if accept.lower().startswith("en") else "id"

    def _plain(
        self,
        request: web.Request,
        key: str,
        *,
        status: int,
        language: str | None = None,
        headers: dict[str, str] | None = None,
        **values: object,
    ) -> web.Response:
        lang = language or self._language(request)
        response = aiohttp_jinja2.render_template(
            "plain.html",
            request,
            {
                "lang": lang,
                "t": lambda k, **v: self.translator.text(lang, k, **v),
                "message": self.translator.text(lang, key, **values),
            },
            status=status,
        )
        if headers:
            response.headers.update(headers)
        return response

    # Sign-in -------------------------------------------------------------------------------

    async def _throttled(self, request: web.Request) -> web.Response | None:
        address = _address(request)
        failures = await self.storage.dashboard.recent_failures(address=address, now=self.clock())
        if failures < FAILURE_LIMIT:
            return None
        minutes = int(FAILURE_WINDOW.total_seconds() // 60)
        return self._plain(
            request,
            "dashboard.sign.too_many",
            status=429,
            headers={"Retry-After": str(minutes * 60)},
            minutes=minutes,
        )

    async def _failed(self, request: web.Request) -> web.Response:
        await self.storage.dashboard.record_failure(address=_address(request), now=self.clock())
        return self._plain(request, "dashboard.sign.bad_link", status=403)

    async def sign_in_page(self, request: web.Request) -> web.StreamResponse:
        throttled = await self._throttled(request)
        if throttled is not None:
            return throttled
        token = request.match_info["token"]
        if not await self.storage.dashboard.link_usable(token=token, now=self.clock()):
            return await self._failed(request)
        lang = self._language(request)
        return aiohttp_jinja2.render_template(
            "sign_in.html",
            request,
            {"lang": lang, "t": lambda k, **v: self.translator.text(lang, k, **v), "token": token},
        )

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        throttled = await self._throttled(request)
        if throttled is not None:
            return throttled
        form = await request.post()
        token = form.get("token")
        if not isinstance(token, str) or not 0 < len(token) <= 100:
            return await self._failed(request)
        done = await self.storage.dashboard.sign_in(
            token=token, now=self.clock(), address=_address(request)
        )
        if done is None:
            return await self._failed(request)
        response = web.Response(status=303, headers={"Location": PREFIX + "/"})
        response.set_cookie(
            COOKIE,
            done.session_token,
            max_age=int(SESSION_ABSOLUTE.total_seconds()),
            path=PREFIX,
            httponly=True,
            secure=self.secure,
            samesite="Lax",
        )
        return response

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        token = request.cookies.get(COOKIE, "")
        session = await self.storage.dashboard.session(token=token, now=self.clock())
        form = await request.post()
        sent = form.get("csrf")
        if session is not None:
            if not isinstance(sent, str) or not hmac.compare_digest(sent, _csrf(token)):
                return self._plain(request, "dashboard.sign.bad_request", status=400)
            await self.storage.dashboard.sign_out(session=session, now=self.clock())
        response = self._plain(
            request,
            "dashboard.sign.signed_out",
            status=200,
            language=session.language if session else None,
        )
        response.del_cookie(COOKIE, path=PREFIX)
        return response

    # Pages ---------------------------------------------------------------------------------

    def _page(
        self, handler: Callable[[View], Awaitable[web.StreamResponse]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The one check in front of every page and download: a live session, whose person
        still has a role; the scope comes from their roles as they are now."""

        async def run(request: web.Request) -> web.StreamResponse:
            now = self.clock()
            session = await self.storage.dashboard.session(
                token=request.cookies.get(COOKIE, ""), now=now
            )
            if session is None:
                response = self._plain(request, "dashboard.sign.needed", status=401)
                if COOKIE in request.cookies:
                    response.del_cookie(COOKIE, path=PREFIX)
                return response
            language = session.language
            wanted = request.query.get("lang")
            if wanted in LANGUAGES and wanted != language:
                language = str(wanted)
                await self.storage.dashboard.set_language(
                    token_hash=session.token_hash, language=language
                )
            local = now.astimezone(ZoneInfo(self.timezone))
            month, notice = Month(local.year, local.month), ""
            asked = request.query.get("month", "")
            if asked:
                parsed = parse_month(asked)
                if parsed is None or not 2000 <= parsed[0] <= 2100:
                    notice = self.translator.text(
                        language, "dashboard.page.bad_month", value=asked[:20], month=month.label
                    )
                else:
                    month = Month(*parsed)
            pages = Pages(
                self.storage,
                self.translator,
                scope=session.scope,
                actor=session.actor,
                language=language,
                month=month,
                timezone=self.timezone,
                now=now,
            )
            return await handler(View(request, session, pages, notice))

        return run

    def _render(self, view: View, template: str, section: str, **context: Any) -> web.Response:
        lang = view.language
        role_names = [
            self.translator.text(lang, f"dashboard.role.{r}") for r in view.session.scope.roles
        ]
        return aiohttp_jinja2.render_template(
            template,
            view.request,
            {
                "v": view,
                "lang": lang,
                "t": lambda k, **v: self.translator.text(lang, k, **v),
                "nav": _NAV,
                "section": section,
                "who": view.session.actor,
                "roles": ", ".join(role_names),
                "previous": view.month.shifted(-1).label,
                "next": view.month.shifted(1).label,
                **context,
            },
        )

    async def overview(self, view: View) -> web.StreamResponse:
        tables, now, before = await view.pages.overview_tables()
        cards = []
        for key in ("events_held", "registered", "attended", "waitlisted", "new_residents"):
            cards.append((key, getattr(now, key), getattr(before, key)))
        rate = (now.attendance_rate, before.attendance_rate)
        return self._render(
            view, "overview.html", "overview", tables=tables, cards=cards, rate=rate
        )

    async def areas(self, view: View) -> web.StreamResponse:
        tables = [
            view.sorted(await view.pages.area_table("regency")),
            view.sorted(await view.pages.area_table("library")),
        ]
        return self._render(view, "tables.html", "areas", tables=tables)

    async def events(self, view: View) -> web.StreamResponse:
        tables = [view.sorted(t) for t in await view.pages.event_tables()]
        return self._render(view, "tables.html", "events", tables=tables)

    async def event(self, view: View) -> web.StreamResponse:
        event = await view.pages.event_in_scope(int(view.request.match_info["event_id"]))
        if event is None:
            return self._plain(
                view.request, "dashboard.sign.not_found", status=404, language=view.language
            )
        people = view.sorted(await view.pages.registrants_table(event))
        sent = await view.pages.announcements_table(event_id=event.id)
        code = await self.storage.dashboard.checkin_code(event_id=event.id)
        names = await view.pages.regency_names()
        return self._render(
            view,
            "event.html",
            "events",
            event=event,
            code=code,
            regency=names.get(event.regency_code, event.regency_code),
            when=self.translator.when(view.language, event.starts_at),
            tables=[people, sent],
        )

    async def announcements(self, view: View) -> web.StreamResponse:
        table = await view.pages.announcements_table()
        return self._render(view, "tables.html", "announcements", tables=[view.sorted(table)])

    async def delivery(self, view: View) -> web.StreamResponse:
        tables, health = await view.pages.delivery_tables()
        return self._render(
            view,
            "delivery.html",
            "delivery",
            tables=tables,
            health=health,
            refresh=REFRESH_SECONDS,
            oldest=(
                None
                if health.oldest_pending is None
                else (
                    self.translator.when(view.language, health.oldest_pending[0]),
                    health.oldest_pending[1],
                )
            ),
        )

    async def charts(self, view: View) -> web.StreamResponse:
        lang, pages = view.language, view.pages
        t = pages.t

        def number(value: int) -> str:
            return str(format_decimal(value, locale=lang))

        labels, registered, attended = await pages.year_attendance()
        figures = await pages.figures(view.month)
        areas = await pages.area_table("regency")
        # Columns: regency, events, registered, attended, ...
        by_regency = [(str(row[0]), _int(row[3])) for row in areas.rows]
        drawn = [
            charts.columns(
                t("dashboard.chart.by_month", month=view.month.label),
                labels,
                [
                    (t("dashboard.chart.registered"), registered),
                    (t("dashboard.chart.attended"), attended),
                ],
                number,
            ),
            charts.bars(
                t("dashboard.chart.by_regency", month=view.month.label), by_regency, number
            ),
            charts.bars(
                t("dashboard.chart.by_gender", month=view.month.label),
                [(pages._gender(k), v) for k, v in figures.by_gender.items()],
                number,
            ),
            charts.bars(
                t("dashboard.chart.by_age", month=view.month.label),
                [(pages._age(k), v) for k, v in figures.by_age_band.items()],
                number,
            ),
        ]
        titles = [
            t("dashboard.chart.by_month", month=view.month.label),
            t("dashboard.chart.by_regency", month=view.month.label),
            t("dashboard.chart.by_gender", month=view.month.label),
            t("dashboard.chart.by_age", month=view.month.label),
        ]
        return self._render(
            view, "charts.html", "charts", charts=list(zip(titles, drawn, strict=True))
        )

    # Downloads -----------------------------------------------------------------------------

    async def _tables_named(self, view: View, name: str) -> list[Table] | None:
        pages = view.pages
        if name in ("overview", "gender", "age_band"):
            tables, _, _ = await pages.overview_tables()
            return [t for t in tables if t.key == name]
        if name == "regencies":
            return [await pages.area_table("regency")]
        if name == "libraries":
            return [await pages.area_table("library")]
        if name in ("events", "upcoming"):
            return [t for t in await pages.event_tables() if t.key == name]
        if name == "announcements":
            return [await pages.announcements_table()]
        if name in ("delivery", "delivery-kinds", "failures"):
            tables, _ = await pages.delivery_tables()
            return [t for t in tables if t.key == name]
        if name == "report":
            overview, _, _ = await pages.overview_tables()
            return [
                *overview,
                await pages.area_table("regency"),
                await pages.area_table("library"),
                *[t for t in await pages.event_tables() if t.key == "events"],
            ]
        if name.startswith("event-") and name[6:].isdigit():
            event = await pages.event_in_scope(int(name[6:]))
            if event is None:
                return None
            return [await pages.registrants_table(event)]
        return None

    async def download(self, view: View) -> web.StreamResponse:
        name, ext = view.request.match_info["name"], view.request.match_info["ext"]
        tables = await self._tables_named(view, name)
        if not tables or (name == "report" and ext != "xlsx"):
            return self._plain(
                view.request, "dashboard.sign.not_found", status=404, language=view.language
            )
        tables = [view.sorted(t) for t in tables]
        body = xlsx_bytes(tables) if ext == "xlsx" else csv_bytes(tables[0])
        await self.storage.dashboard.record(
            session=view.session,
            action="dashboard.download",
            target=f"{name}.{ext}",
            detail=f"{view.month.label} {sum(len(t.rows) for t in tables)} rows",
            now=self.clock(),
        )
        filename = f"pustaka-{name}-{view.month.label}.{ext}"
        return web.Response(
            body=body,
            content_type=XLSX if ext == "xlsx" else "text/csv",
            charset=None if ext == "xlsx" else "utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


@web.middleware
async def _headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        for name, value in _HEADERS.items():
            exc.headers.setdefault(name, value)
        raise
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    return response
