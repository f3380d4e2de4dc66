"""The audit log in words: who did what to which event or person, with the time in WITA.

Used by /audit in the chat and by `pustaka audit` on the command line, so both read the same.
Filters: one person (their actions and the actions on them), one event, one local day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.types import Translator
from storage import Storage
from storage.errors import NotFound
from storage.staff import CONFIG, AuditEntry

# Actions with a sentence of their own; any other is shown by its name.
KNOWN = {
    "role.grant",
    "role.revoke",
    "event.create",
    "event.cancel",
    "event.restore",
    "event.time",
    "event.place",
    "event.capacity",
    "event.deadline",
    "event.questions",
    "event.open",
    "event.close",
    "event.finish",
    "attendance.mark",
    "attendance.unmark",
    "broadcast.create",
    "broadcast.cancel",
    "export",
    "refused",
}


@dataclass(frozen=True, slots=True)
class AuditFilter:
    person: str | None = None  # 'channel:id'
    event_id: int | None = None
    day: date | None = None  # a local (WITA) day

    def bounds(self, timezone: str) -> tuple[datetime | None, datetime | None]:
        if self.day is None:
            return None, None
        start = datetime(self.day.year, self.day.month, self.day.day, tzinfo=ZoneInfo(timezone))
        return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)

    @property
    def code(self) -> str:
        """Compact form for a paging button ('' for none)."""
        if self.event_id is not None:
            return f"e{self.event_id}"
        if self.day is not None:
            return f"d{self.day:%Y%m%d}"
        if self.person is not None:
            return f"p{self.person}"
        return ""

    @classmethod
    def from_code(cls, code: str) -> AuditFilter:
        if code.startswith("e") and code[1:].isdigit():
            return cls(event_id=int(code[1:]))
        if code.startswith("d") and len(code) == 9 and code[1:].isdigit():
            return cls(day=date(int(code[1:5]), int(code[5:7]), int(code[7:9])))
        if code.startswith("p") and ":" in code:
            return cls(person=code[1:])
        return cls()


async def entries(
    storage: Storage, where: AuditFilter, timezone: str, *, offset: int, limit: int
) -> tuple[list[AuditEntry], int]:
    since, until = where.bounds(timezone)
    return await storage.staff.audit_entries(
        offset=offset,
        limit=limit,
        actor=where.person,
        target=None if where.event_id is None else f"event:{where.event_id}",
        since=since,
        until=until,
    )


async def lines(
    storage: Storage,
    translator: Translator,
    language: str,
    timezone: str,
    found: list[AuditEntry],
) -> list[str]:
    """One readable line per entry."""
    from babel.dates import format_datetime

    people = {e.actor for e in found} | {
        e.target for e in found if e.target and ":" in e.target and not _is_object(e.target)
    }
    names = await storage.staff.names(identities=sorted(people))
    titles: dict[int, str] = {}
    for entry in found:
        event_id = _event_id(entry)
        if event_id is not None and event_id not in titles:
            try:
                titles[event_id] = (await storage.events.get(event_id=event_id)).title
            except NotFound:
                titles[event_id] = f"#{event_id}"
    zone = ZoneInfo(timezone)
    result = []
    for entry in found:
        when = format_datetime(entry.at, "dd-MM-yyyy HH.mm", tzinfo=zone, locale=language)
        who = _person(translator, language, entry.actor, names)
        if entry.role in ("admin", "coordinator", "librarian"):
            who += ", " + translator.text(language, f"staff.role.{entry.role}")
        what = _sentence(translator, language, entry, names, titles)
        result.append(f"{when} WITA · {who}: {what}")
    return result


def _is_object(target: str) -> bool:
    return target.split(":", 1)[0] in ("event", "broadcast", "library")


def _event_id(entry: AuditEntry) -> int | None:
    if entry.target and entry.target.startswith("event:") and entry.target[6:].isdigit():
        return int(entry.target[6:])
    return None


def _person(translator: Translator, language: str, who: str, names: dict[str, str]) -> str:
    if who == CONFIG:
        return translator.text(language, "staff_safety.audit.config")
    name = names.get(who)
    return f"{name} [{who}]" if name else who


def _sentence(
    translator: Translator,
    language: str,
    entry: AuditEntry,
    names: dict[str, str],
    titles: dict[int, str],
) -> str:
    event_id = _event_id(entry)
    event = f"«{titles[event_id]}»" if event_id is not None else ""
    target = entry.target or ""
    person = _person(translator, language, target, names) if target else ""
    detail = entry.detail
    if entry.action == "role.grant":
        role, _, scope = detail.partition(" ")
        role_name = translator.text(language, f"staff.role.{role}") if role else "?"
        return translator.text(
            language, "staff_safety.audit.role_grant", role=role_name, scope=scope, who=person
        )
    if entry.action == "role.revoke":
        role_name = translator.text(language, f"staff.role.{detail}") if detail else "?"
        return translator.text(
            language, "staff_safety.audit.role_revoke", role=role_name, who=person
        )
    if entry.action == "broadcast.create" or entry.action == "broadcast.cancel":
        number = target.partition(":")[2]
        key = entry.action.replace(".", "_")
        return translator.text(language, f"staff_safety.audit.{key}", id=number)
    if entry.action.startswith("/"):
        return translator.text(language, "staff_safety.audit.command", command=entry.action)
    if entry.action in KNOWN:
        key = entry.action.replace(".", "_")
        return translator.text(
            language, f"staff_safety.audit.{key}", event=event, detail=detail, target=target
        )
    return " ".join(filter(None, (entry.action, target, detail)))
