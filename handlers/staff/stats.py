"""/statistik (/stats): a month's participation figures for the coordinator's scope, as text and
as a bar chart; `pustaka report` writes the same figures (`rows`) to a CSV file."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.common import expired
from handlers.staff.access import OutOfScope
from handlers.staff.nav import nav
from handlers.types import Context, Document, Reply, Translator
from storage import Storage
from storage.clock import utcnow
from storage.models import Regency
from storage.staff import StaffRole
from storage.stats import MonthStats

# Buttons under the figures: this month and the three before it.
MONTHS_OFFERED = 3
Figure = tuple[str, str, int | float | None]


def month_bounds(year: int, month: int, timezone: str) -> tuple[datetime, datetime]:
    """A calendar month in local time (WITA), as UTC moments [start, end)."""
    zone = ZoneInfo(timezone)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def previous_months(now: datetime, timezone: str, count: int) -> list[tuple[int, int]]:
    local = now.astimezone(ZoneInfo(timezone))
    year, month = local.year, local.month
    found = []
    for _ in range(count):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        found.append((year, month))
    return found


def this_month(now: datetime, timezone: str) -> tuple[int, int]:
    local = now.astimezone(ZoneInfo(timezone))
    return local.year, local.month


def find_regency(regencies: list[Regency], typed: str) -> tuple[str | None, str | None]:
    """(code, None) for a regency typed by its code or name in any case ("Ende", "KOTA-KUPANG",
    "kota kupang"); else (None, the closest code) or (None, None)."""
    import difflib

    def key(text: str) -> str:
        return " ".join(text.casefold().replace("-", " ").split())

    wanted = key(typed)
    names = {}
    for regency in regencies:
        names[key(regency.code)] = regency.code
        names[key(regency.name)] = regency.code
        # "Kabupaten Ende" and "Ende" both name it.
        names[key(regency.name.removeprefix("Kabupaten ").removeprefix("Kota "))] = regency.code
    if wanted in names:
        return names[wanted], None
    close = difflib.get_close_matches(wanted, list(names), n=1, cutoff=0.6)
    return None, (names[close[0]] if close else None)


def parse_month(text: str) -> tuple[int, int] | None:
    year, _, month = text.partition("-")
    if not (year.isdigit() and month.isdigit() and len(year) == 4 and 1 <= int(month) <= 12):
        return None
    return int(year), int(month)


async def compute(
    storage: Storage,
    *,
    year: int,
    month: int,
    regency_code: str | None,
    timezone: str,
    now: datetime | None = None,
) -> MonthStats:
    """The month's figures as of `now`: only events that have ended by then count as held."""
    start, end = month_bounds(year, month, timezone)
    return await storage.stats.month(
        start=start, end=end, regency_code=regency_code, now=now or utcnow()
    )


async def figures(
    storage: Storage, translator: Translator, language: str, stats: MonthStats
) -> list[Figure]:
    """(section, item, value) in the order the text and the CSV show them; the attendance rate
    is the one float (a fraction), None when nobody registered."""

    def t(key: str, **values: object) -> str:
        return translator.text(language, key, **values)

    found: list[Figure] = [
        ("summary", t("staff.stats.events_held"), stats.events_held),
        ("summary", t("staff.stats.registered"), stats.registered),
        ("summary", t("staff.stats.attended"), stats.attended),
        ("summary", t("staff.stats.walk_ins"), stats.walk_ins),
        ("summary", t("staff.stats.rate"), stats.attendance_rate),
        ("summary", t("staff.stats.new_residents"), stats.new_residents),
        ("summary", t("staff.stats.announcements"), stats.announcements_sent),
    ]
    for key, value in stats.by_gender.items():
        label = t("staff.stats.unknown") if key == "unknown" else t(f"reg.gender.{key}")
        found.append(("gender", label, value))
    for key, value in stats.by_age_band.items():
        label = t("staff.stats.unknown") if key == "unknown" else t(f"reg.age.{key}")
        found.append(("age_band", label, value))
    for regency in await storage.libraries.regencies():
        if regency.code in stats.by_regency:
            found.append(("regency", regency.name, stats.by_regency[regency.code]))
    return found


def plain(value: int | float | None) -> str:
    """A figure for the CSV report: digits a spreadsheet reads, the rate as '66.7%'."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value * 100:.1f}%"
    return str(value)


async def rows(
    storage: Storage, translator: Translator, language: str, stats: MonthStats
) -> list[tuple[str, str, str]]:
    """(section, item, value) rows for the CSV report."""
    found = await figures(storage, translator, language, stats)
    return [(section, item, plain(value)) for section, item, value in found]


def shown(language: str, value: int | float | None, translator: Translator) -> str:
    """A figure as the person reads numbers: '1.234', '66,7 %' in Indonesian."""
    from babel.numbers import format_percent

    if value is None:
        return "-"
    if isinstance(value, float):
        pattern = translator.text(language, "staff_safety.stats.percent_pattern")
        return str(format_percent(value, pattern, locale=language))
    return translator.number(language, value)


def month_name(language: str, year: int, month: int) -> str:
    """'November 2026' / 'Desember 2026' in the person's language."""
    from babel.dates import format_date

    return str(format_date(date(year, month, 1), "LLLL yyyy", locale=language))


async def show(ctx: Context, role: StaffRole) -> None:
    """/statistik [YYYY-MM]: last month by default."""
    if ctx.incoming.args:
        chosen = parse_month(ctx.incoming.args.strip())
        if chosen is None:
            ctx.say(ctx.t("staff.stats.bad_month"))
            return
    else:
        chosen = previous_months(ctx.now, ctx.settings.timezone, 1)[0]
    await _send(ctx, role, *chosen)


async def month_button(ctx: Context, role: StaffRole, arg: str) -> None:
    chosen = parse_month(arg)
    if chosen is None:
        expired(ctx)
        return
    await _send(ctx, role, *chosen)


async def _send(ctx: Context, role: StaffRole, year: int, month: int) -> None:
    if role.role == "librarian":
        raise OutOfScope("stats")  # access already limits it; kept as a second guard
    stats = await compute(
        ctx.storage,
        year=year,
        month=month,
        regency_code=role.regency,
        timezone=ctx.settings.timezone,
        now=ctx.now,
    )
    scope = ctx.t("staff.roles.province")
    if role.regency is not None:
        scope = (await ctx.storage.libraries.regency(code=role.regency)).name
    label = f"{year}-{month:02d}"
    name = month_name(ctx.language, year, month)
    found = await figures(ctx.storage, ctx.translator, ctx.language, stats)
    lines = [ctx.t("staff.stats.title", month=name, scope=scope)]
    if (year, month) == this_month(ctx.now, ctx.settings.timezone):
        lines.append(ctx.t("staff_safety.stats.so_far"))
    section = "summary"
    for kind, item, value in found:
        if kind != section:
            section = kind
            lines.append("")
            lines.append(ctx.t(f"staff.stats.section.{kind}"))
        lines.append(f"• {item}: {shown(ctx.language, value, ctx.translator)}")
    months = [this_month(ctx.now, ctx.settings.timezone)]
    months += previous_months(ctx.now, ctx.settings.timezone, MONTHS_OFFERED)
    choices = [
        ctx.choice(
            "staff.stats.other_month", f"sst:{y}-{m:02d}", month=month_name(ctx.language, y, m)
        )
        for y, m in months
        if (y, m) != (year, month)
    ]
    ctx.say("\n".join(lines), *choices, *nav(ctx))
    # Drawing takes a few hundred milliseconds: off the event loop, so others are not kept
    # waiting.
    chart = await asyncio.to_thread(
        bar_chart,
        ctx.t("staff.stats.chart_title", month=name, scope=scope),
        [
            (ctx.t(f"staff.stats.section.{k}"), i, int(v or 0))
            for k, i, v in found
            if k != "summary"
        ],
    )
    ctx.replies.append(
        Reply(
            ctx.t("staff.stats.chart_caption", month=name),
            document=Document(f"statistik-{label}.png", chart, "image/png"),
        )
    )


def bar_chart(title: str, bars: list[tuple[str, str, int]]) -> bytes:
    """Horizontal bars grouped by section, as a small PNG that loads on a slow connection."""
    import io

    figure = chart_figure(title, bars)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=90)
    return out.getvalue()


def chart_figure(title: str, bars: list[tuple[str, str, int]]) -> Any:
    """The chart as a matplotlib Figure (drawn, so its ticks can be read)."""
    # The object API, not pyplot: no global state, so charts can be drawn in worker threads
    # (the handler does, to keep the event loop free); Figure.savefig uses the Agg canvas.
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    sections = list(dict.fromkeys(s for s, _, _ in bars))
    heights = [max(len([b for b in bars if b[0] == s]), 1) for s in sections]
    figure = Figure(figsize=(7, 1.2 + 0.32 * sum(heights) + 0.5 * len(sections)))
    axes = figure.subplots(len(sections), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)
    figure.suptitle(title, fontsize=12, fontweight="bold")
    for axis, section in zip(axes[:, 0], sections, strict=True):
        items = [(label, value) for s, label, value in bars if s == section]
        labels = [label for label, _ in items]
        values = [value for _, value in items]
        axis.barh(labels, values, color="#2a7ab0")
        axis.invert_yaxis()
        axis.set_title(section, fontsize=9, loc="left")
        axis.tick_params(labelsize=8)
        for index, value in enumerate(values):
            axis.text(value, index, f" {value}", va="center", fontsize=8)
        axis.set_xlim(0, max(values + [1]) * 1.15)
        # People come whole: no tick at 0.2 of a person.
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure
