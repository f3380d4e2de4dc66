"""What each dashboard page shows: its tables (also its downloads) and charts, built from the
scoped queries of storage/dashboard.py in the viewer's language."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.dashboard.tables import Cell, Column, Table
from bot.i18n import Translator
from handlers.staff.stats import month_bounds
from storage import Storage
from storage.dashboard import AreaRow, DeliveryHealth, EventRow, Figures, Scope
from storage.models import Event
from storage.staff_events import Person
from storage.stats import AGE_BANDS, GENDERS


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"

    def shifted(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        return month_bounds(self.year, self.month, timezone)


class Pages:
    """Table builders for one viewer: their scope, language and the chosen month."""

    def __init__(
        self,
        storage: Storage,
        translator: Translator,
        *,
        scope: Scope,
        actor: str,
        language: str,
        month: Month,
        timezone: str,
        now: datetime,
    ) -> None:
        self.storage = storage
        self.translator = translator
        self.scope = scope
        self.actor = actor
        self.language = language
        self.month = month
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.now = now
        self._regency_names: dict[str, str] | None = None

    def t(self, key: str, /, **values: object) -> str:
        return self.translator.text(self.language, key, **values)

    def local(self, moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def _col(self, key: str, *, numeric: bool = False, percent: bool = False) -> Column:
        return Column(key, self.t(f"dashboard.col.{key}"), numeric=numeric, percent=percent)

    async def regency_names(self) -> dict[str, str]:
        if self._regency_names is None:
            self._regency_names = {r.code: r.name for r in await self.storage.libraries.regencies()}
        return self._regency_names

    # Overview ------------------------------------------------------------------------------

    async def figures(self, month: Month) -> Figures:
        start, end = month.bounds(self.timezone)
        return await self.storage.dashboard.figures(
            scope=self.scope, start=start, end=end, now=self.now
        )

    async def overview_tables(self) -> tuple[list[Table], Figures, Figures]:
        # Two months at once, on two of the database's reader threads.
        now, before = await asyncio.gather(
            self.figures(self.month), self.figures(self.month.shifted(-1))
        )
        columns = [self._col("item"), self._col("value", numeric=True)]
        columns.append(self._col("previous", numeric=True))
        summary = Table("overview", self.t("dashboard.table.overview"), columns)
        for key in ("events_held", "registered", "attended", "walk_ins", "waitlisted"):
            summary.rows.append(
                [self.t(f"dashboard.figure.{key}"), getattr(now, key), getattr(before, key)]
            )
        summary.rows.append(
            [
                self.t("dashboard.figure.rate"),
                _pct(now.attendance_rate),
                _pct(before.attendance_rate),
            ]
        )
        summary.rows.append(
            [self.t("dashboard.figure.new_residents"), now.new_residents, before.new_residents]
        )
        gender = Table("gender", self.t("dashboard.table.gender"), columns)
        for key in GENDERS:
            gender.rows.append([self._gender(key), now.by_gender[key], before.by_gender[key]])
        age = Table("age_band", self.t("dashboard.table.age_band"), columns)
        for key in AGE_BANDS:
            age.rows.append([self._age(key), now.by_age_band[key], before.by_age_band[key]])
        return [summary, gender, age], now, before

    def _gender(self, key: str) -> str:
        return (
            self.t("dashboard.figure.unknown") if key == "unknown" else self.t(f"reg.gender.{key}")
        )

    def _age(self, key: str) -> str:
        return self.t("dashboard.figure.unknown") if key == "unknown" else self.t(f"reg.age.{key}")

    # Regencies and libraries ---------------------------------------------------------------

    async def area_table(self, by: str) -> Table:
        start, end = self.month.bounds(self.timezone)
        rows = await self.storage.dashboard.areas(
            scope=self.scope, start=start, end=end, now=self.now, by=by
        )
        names = await self.regency_names()
        if by == "regency":
            table = Table("regencies", self.t("dashboard.table.regencies"), [self._col("regency")])
        else:
            table = Table(
                "libraries",
                self.t("dashboard.table.libraries"),
                [self._col("library"), self._col("regency")],
            )
        table.columns += [
            self._col("events", numeric=True),
            self._col("registered", numeric=True),
            self._col("attended", numeric=True),
            self._col("rate", percent=True),
            self._col("women", percent=True),
            self._col("minors", percent=True),
        ]
        for row in rows:
            table.rows.append(self._area_cells(row, names, by))
        return table

    @staticmethod
    def _area_cells(row: AreaRow, names: dict[str, str], by: str) -> list[Cell]:
        head: list[Cell] = (
            [row.name]
            if by == "regency"
            else [row.name, names.get(row.regency_code, row.regency_code)]
        )
        return head + [
            row.events,
            row.registered,
            row.attended,
            row.attendance_rate,
            row.women_share,
            row.minors_share,
        ]

    # Events --------------------------------------------------------------------------------

    async def event_tables(self) -> list[Table]:
        start, end = self.month.bounds(self.timezone)
        upcoming = await self.storage.dashboard.events(
            scope=self.scope, upcoming_from=self.now, limit=100
        )
        held = await self.storage.dashboard.events(
            scope=self.scope, start=start, end=end, limit=300
        )
        return [
            await self._events_table("upcoming", self.t("dashboard.events.upcoming"), upcoming),
            await self._events_table(
                "events", self.t("dashboard.events.past", month=self.month.label), held
            ),
        ]

    async def _events_table(self, key: str, title: str, events: list[EventRow]) -> Table:
        names = await self.regency_names()
        table = Table(
            key,
            title,
            [
                self._col("title"),
                self._col("starts"),
                self._col("library"),
                self._col("regency"),
                self._col("status"),
                self._col("capacity", numeric=True),
                self._col("registered", numeric=True),
                self._col("waitlisted", numeric=True),
                self._col("checked_in", numeric=True),
            ],
        )
        for event in events:
            table.rows.append(
                [
                    event.title,
                    self.local(event.starts_at),
                    event.library_name,
                    names.get(event.regency_code, event.regency_code),
                    self.t(f"dashboard.event_status.{event.status}"),
                    event.capacity,
                    event.confirmed,
                    event.waitlisted,
                    event.checked_in,
                ]
            )
            table.links.append(f"acara/{event.id}")
        return table

    async def event_in_scope(self, event_id: int) -> Event | None:
        from storage.errors import NotFound

        try:
            event = await self.storage.events.get(event_id=event_id)
        except NotFound:
            return None
        if not self.scope.covers(regency_code=event.regency_code, library_id=event.library_id):
            return None
        return event

    async def registrants_table(self, event: Event) -> Table:
        people = await self.storage.staff_events.all_people(event_id=event.id)
        table = Table(
            f"event-{event.id}",
            self.t("dashboard.table.registrants"),
            [
                self._col("name"),
                self._col("status"),
                self._col("proxy_for"),
                self._col("gender"),
                self._col("age_band"),
                self._col("village"),
                self._col("registered_at"),
                self._col("attended_at"),
            ],
        )
        for person in people:
            table.rows.append(self._person_cells(person))
        return table

    def _person_cells(self, person: Person) -> list[Cell]:
        return [
            person.name,
            self.t(f"dashboard.person_status.{person.status}"),
            person.registered_by,
            self._gender(person.gender) if person.gender else None,
            self._age(person.age_band) if person.age_band else None,
            person.village,
            self.local(person.created_at),
            self.local(person.attended_at),
        ]

    # Announcements -------------------------------------------------------------------------

    async def announcements_table(self, *, event_id: int | None = None) -> Table:
        found = await self.storage.dashboard.announcements(
            scope=self.scope, actor=self.actor, event_id=event_id
        )
        names = await self.regency_names()
        table = Table(
            "announcements" if event_id is None else f"event-{event_id}-announcements",
            self.t(
                "dashboard.table.announcements" if event_id is None else "dashboard.events.sent_to"
            ),
            [
                self._col("created"),
                self._col("due"),
                self._col("audience"),
                self._col("text"),
                self._col("status"),
                self._col("recipients", numeric=True),
                self._col("sent", numeric=True),
                self._col("failed", numeric=True),
                self._col("unreachable", numeric=True),
                self._col("pending", numeric=True),
                self._col("cancelled", numeric=True),
            ],
        )
        for row in found:
            arg = row.audience_arg or ""
            if row.audience in ("all", "regency"):
                arg = names.get(arg, arg) if arg else self.t("dashboard.page.scope_all")
            elif row.audience == "topic":
                topic, _, regency = arg.partition("@")
                arg = f"{topic} ({names.get(regency, regency)})" if regency else topic
            text = row.text if len(row.text) <= 80 else row.text[:79] + "…"
            table.rows.append(
                [
                    self.local(row.created_at),
                    self.local(row.due_at),
                    self.t(f"dashboard.ann.audience_{row.audience}", scope=arg),
                    text,
                    self.t(f"dashboard.ann_status.{row.status}"),
                    row.recipients,
                    row.sent,
                    row.failed,
                    row.unreachable,
                    row.pending,
                    row.cancelled,
                ]
            )
        return table

    # Delivery ------------------------------------------------------------------------------

    async def delivery_tables(self) -> tuple[list[Table], DeliveryHealth]:
        health = await self.storage.dashboard.delivery(scope=self.scope)
        statuses = ("pending", "sending", "sent", "failed", "cancelled", "held")
        by_status = Table(
            "delivery",
            self.t("dashboard.delivery.by_status"),
            [self._col("status"), self._col("rows", numeric=True)],
        )
        for status in statuses:
            by_status.rows.append([status, health.by_status.get(status, 0)])
        by_kind = Table(
            "delivery-kinds",
            self.t("dashboard.delivery.by_kind"),
            [self._col("kind")] + [Column(s, s, numeric=True) for s in statuses],
        )
        for kind, counts in health.by_kind.items():
            by_kind.rows.append([kind] + [counts.get(s, 0) for s in statuses])
        failures = Table(
            "failures",
            self.t("dashboard.delivery.failures"),
            [self._col("reason"), self._col("rows", numeric=True)],
        )
        failures.rows += [[reason, count] for reason, count in health.failures]
        return [by_status, by_kind, failures], health

    # Charts --------------------------------------------------------------------------------

    async def year_attendance(self) -> tuple[list[str], list[int], list[int]]:
        months = [self.month.shifted(-i) for i in range(11, -1, -1)]
        totals = await self.storage.dashboard.monthly_attendance(
            scope=self.scope, bounds=[m.bounds(self.timezone) for m in months], now=self.now
        )
        return [f"{m.month:02d}" for m in months], [r for r, _ in totals], [a for _, a in totals]


def _pct(value: float | None) -> float | None:
    """A rate in a table of counts: as a percentage with one decimal."""
    return None if value is None else round(value * 100, 1)
