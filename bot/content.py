"""The content file librarians edit: libraries and events in YAML, parsed and checked here.

The file is read as a YAML node tree (`yaml.compose`) rather than loaded into Python objects, so
every complaint can name the line of the offending value: the people fixing it edit the file in a
plain text editor, often on a phone, and a line number is what they can act on. All problems are
collected in one pass so one round of fixes is usually enough. The format is described for
librarians in docs/content-file.md; keep the two in step.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from storage.content import AliasRecord, EventRecord, LibraryRecord

SAMPLE_FILE: Final = Path(__file__).parent / "sample" / "ntt.yaml"

# Mirrors the regencies seeded by storage/migrations/0001_initial.sql (a test keeps them equal);
# parsing needs no database.
REGENCY_CODES: Final = frozenset(
    {
        "kota-kupang", "kupang", "tts", "ttu", "belu", "malaka", "alor", "lembata",
        "flores-timur", "sikka", "ende", "nagekeo", "ngada", "manggarai-timur", "manggarai",
        "manggarai-barat", "sumba-timur", "sumba-tengah", "sumba-barat", "sumba-barat-daya",
        "sabu-raijua", "rote-ndao",
    }
)  # fmt: skip
LEVELS: Final = ("province", "regency", "village")
CATEGORIES: Final = ("computer", "food", "marketing", "english", "children", "weaving", "other")
QUESTIONS: Final = ("gender", "age_band", "village")
# 'cancelled' and 'finished' are reached through the bot, which tells the registrants.
STATUSES: Final = ("draft", "open", "closed")

SLUG_MAX: Final = 60
LIBRARY_NAME_MAX: Final = 120
TEXT_MAX: Final = 200  # address, opening hours, contact, place
SERVICE_MAX: Final = 80
SERVICES_MAX: Final = 30
TITLE_MAX: Final = 100
DESCRIPTION_MAX: Final = 1000
# A broken file (say, everything indented one step too far) can produce hundreds of problems;
# the first few are enough to see what is wrong.
REPORTED_PROBLEMS_MAX: Final = 20

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_WHOLE = re.compile(r"[+-]?[0-9]+")
# Indonesian writes times as 09.00, so a dot is accepted as well as a colon.
_ABSOLUTE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2})[:.](\d{2})")
# The form the bot teaches librarians in the chat: "20-12-2026 09.00".
_ABSOLUTE_DMY = re.compile(r"(\d{1,2})[-/](\d{1,2})[-/](\d{4}) +(\d{1,2})[:.](\d{2})")
_RELATIVE = re.compile(r"\+(\d{1,3}) +(\d{1,2})[:.](\d{2})")
_YAML_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(
    _YAML_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")
)

_LIBRARY_KEYS: Final = {
    "slug": True,
    "name": True,
    "level": True,
    "regency": True,
    "village": False,
    "address": True,
    "opening_hours": True,
    "contact": False,
    "services": False,
    "catalogue": False,
}
# A library's book catalogue, harvested over OAI-PMH (bot/catalogue/, docs/catalogue.md).
_CATALOGUE_KEYS: Final = {"system": True, "url": True}
CATALOGUE_SYSTEMS: Final = ("inlislite", "slims")
_EVENT_KEYS: Final = {
    "slug": True,
    "library": True,
    "title": True,
    "category": True,
    "description": True,
    "place": False,
    "starts": True,
    "ends": False,
    "duration_minutes": False,
    "capacity": False,
    "waitlist": False,
    "questions": False,
    "status": False,
    "registration_opens": False,
    "registration_closes": False,
}
_ROOT_KEYS: Final = {"libraries": False, "events": False, "aliases": False}
ALIAS_MAX: Final = 60


@dataclass(frozen=True, slots=True)
class Problem:
    line: int | None  # 1-based; None when the problem is not about one place in the file
    reason: str

    def __str__(self) -> str:
        return self.reason if self.line is None else f"line {self.line}: {self.reason}"


class ContentError(Exception):
    """The content file cannot be used; `problems` lists every reason found, in line order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: p.line or 0))
        shown = [str(p) for p in self.problems[:REPORTED_PROBLEMS_MAX]]
        hidden = len(self.problems) - len(shown)
        if hidden:
            shown.append(f"... and {hidden} more")
        super().__init__("\n".join(shown))

    @classmethod
    def one(cls, line: int | None, reason: str) -> ContentError:
        return cls([Problem(line, reason)])

    @property
    def line(self) -> int | None:
        return self.problems[0].line if self.problems else None


@dataclass(frozen=True, slots=True)
class Content:
    libraries: tuple[LibraryRecord, ...]
    events: tuple[EventRecord, ...]
    # Names people type for a regency: "TTS", "Mabar", "kab kupang", "kupang" (city or regency).
    aliases: tuple[AliasRecord, ...] = ()


def parse_content(
    text: str,
    *,
    timezone: str,
    today: date,
    known_library_slugs: Collection[str] = frozenset(),
) -> Content:
    """Parse and check a content file.

    `today` is the local date that relative times ("+5 09:00") count from; `known_library_slugs`
    are libraries already in the database, which events may refer to without repeating them.
    Times in the file are local to `timezone`; the records hold aware UTC datetimes.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text) from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ContentError.one(
            line,
            f"the file contains a control character that YAML does not allow "
            f"(U+{int(exc.character):04X})",
        ) from None
    except yaml.YAMLError as exc:
        raise ContentError.one(None, f"not valid YAML: {exc}") from None
    if root is None:
        raise ContentError.one(1, "the file is empty: expected 'libraries:' and/or 'events:'")
    parser = _Parser(ZoneInfo(timezone), today, frozenset(known_library_slugs))
    content = parser.root(root)
    if parser.problems:
        raise ContentError(parser.problems)
    return content


def load_content_file(
    path: str | Path,
    *,
    timezone: str,
    today: date,
    known_library_slugs: Collection[str] = frozenset(),
) -> Content:
    """`parse_content` on a UTF-8 file; an unreadable file is a ContentError too."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ContentError.one(None, f"content file not found: {path}") from None
    except IsADirectoryError:
        raise ContentError.one(None, f"{path} is a folder, not a content file") from None
    except OSError as exc:
        raise ContentError.one(None, f"cannot read {path}: {exc.strerror}") from None
    try:
        # utf-8-sig: editors on Windows like to put a byte-order mark in front.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ContentError.one(
            line,
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save it with UTF-8 encoding",
        ) from None
    return parse_content(
        text, timezone=timezone, today=today, known_library_slugs=known_library_slugs
    )


def _syntax_error(exc: yaml.MarkedYAMLError, text: str) -> ContentError:
    # When the scanner gives up inside a token (an open quote, a key without ':'), the place it
    # noticed is often lines later; the token's start is where the mistake is.
    scanning = (exc.context or "").startswith("while scanning") and exc.context_mark is not None
    mark, other = (
        (exc.context_mark, exc.problem_mark) if scanning else (exc.problem_mark, exc.context_mark)
    )
    if mark is None:
        mark, other = other, None
    details = ", ".join(part for part in (exc.context, exc.problem) if part) or "syntax error"
    reason = f"not valid YAML: {details}"
    if mark is not None and other is not None and other.line != mark.line:
        reason += f" (see also line {other.line + 1})"
    problem = exc.problem or ""
    if "'\\t'" in problem:  # the message escapes the tab
        reason += "; indent with spaces, not tabs"
    elif "quoted scalar" in (exc.context or ""):
        reason += "; is a quote left open?"
    elif "could not find expected ':'" in problem:
        reason += "; is a ':' missing after a key?"
    elif "block" in details:
        reason += "; check the indentation"
    line = None if mark is None else mark.line + 1
    if line is not None and (opened := _open_quote_line(text, line)) not in (None, line):
        # A forgotten closing quote swallows text up to the next quote, and YAML only stumbles
        # lines later; the line to fix is the one with the quote.
        return ContentError.one(
            opened, f'the " quote opened on this line is not closed (YAML stopped at line {line})'
        )
    return ContentError.one(line, reason)


def _open_quote_line(text: str, until: int) -> int | None:
    """The line of a double quote still open at line `until`, by counting quotes per line."""
    opened = None
    for number, line in enumerate(text.splitlines()[:until], start=1):
        if line.replace('\\"', "").count('"') % 2:
            opened = None if opened else number
    return opened


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _describe(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return f"'{node.value}'"
    return "a list" if isinstance(node, SequenceNode) else "a block of 'key: value' lines"


class _Parser:
    def __init__(self, tz: ZoneInfo, today: date, known_library_slugs: frozenset[str]) -> None:
        self._tz = tz
        self._today = today
        self._known = known_library_slugs
        self.problems: list[Problem] = []
        # Slugs seen so far and their lines, to point a duplicate at its first use.
        self._library_slugs: dict[str, int] = {}
        self._event_slugs: dict[str, int] = {}

    def report(self, node: Node | None, reason: str) -> None:
        self.problems.append(Problem(None if node is None else _line(node), reason))

    # --- structure -------------------------------------------------------------------------

    def root(self, node: Node) -> Content:
        fields = self._fields(node, "the file", _ROOT_KEYS, where_is_path=False)
        if fields is None:
            return Content((), ())
        if not fields:
            self.report(node, "the file has neither 'libraries:' nor 'events:'")
        aliases = self._aliases(fields.get("aliases"))
        # Libraries first whatever the order in the file: events refer to them.
        libraries: list[LibraryRecord] = []
        for where, item in self._items(fields.get("libraries"), "libraries"):
            if (library := self._library(item, where)) is not None:
                libraries.append(library)
        events: list[EventRecord] = []
        for where, item in self._items(fields.get("events"), "events"):
            if (event := self._event(item, where)) is not None:
                events.append(event)
        return Content(tuple(libraries), tuple(events), aliases)

    def _aliases(self, node: Node | None) -> tuple[AliasRecord, ...]:
        """`aliases:` lines `name: regency-code` or `name: [code, code]` (a name that may mean
        either, so the bot asks which)."""
        if node is None or _is_null(node):
            return ()
        if not isinstance(node, MappingNode):
            self.report(node, "aliases must be 'name: regency-code' lines")
            return ()
        found: dict[str, AliasRecord] = {}
        for key_node, value_node in node.value:
            alias = str(key_node.value).strip() if isinstance(key_node, ScalarNode) else ""
            if not alias or len(alias) > ALIAS_MAX:
                self.report(key_node, f"an alias must be a name of 1 to {ALIAS_MAX} characters")
                continue
            if alias.casefold() in found:
                self.report(key_node, f"aliases: '{alias}' is given twice")
                continue
            if isinstance(value_node, ScalarNode):
                codes = [str(value_node.value).strip()]
            elif isinstance(value_node, SequenceNode) and all(
                isinstance(v, ScalarNode) for v in value_node.value
            ):
                codes = [str(v.value).strip() for v in value_node.value]
            else:
                self.report(value_node, f"aliases: '{alias}' must name a regency code or a list")
                continue
            unknown = [c for c in codes if c not in REGENCY_CODES]
            if unknown or not codes:
                close = difflib.get_close_matches(unknown[0], REGENCY_CODES, n=1) if unknown else []
                self.report(
                    value_node,
                    f"aliases: '{alias}' names an unknown regency code '{''.join(unknown[:1])}'"
                    + (f"; did you mean '{close[0]}'?" if close else ""),
                )
                continue
            found[alias.casefold()] = AliasRecord(alias, tuple(dict.fromkeys(codes)))
        return tuple(found.values())

    def _items(self, node: Node | None, name: str) -> list[tuple[str, Node]]:
        if node is None or _is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            self.report(node, f"{name} must be a list of items, each starting with '- '")
            return []
        # Counted from 1, like the lines: librarians read these, not programmers.
        return [(f"{name}[{i}]", item) for i, item in enumerate(node.value, start=1)]

    def _fields(
        self,
        node: Node,
        where: str,
        keys: Mapping[str, bool],
        *,
        where_is_path: bool = True,
    ) -> dict[str, Node] | None:
        """The key nodes of a mapping, after reporting unknown, repeated and missing keys."""
        if not isinstance(node, MappingNode):
            self.report(
                node, f"{where} must be a block of 'key: value' lines, not {_describe(node)}"
            )
            return None
        found: dict[str, Node] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.report(key_node, f"{where} has a key that is not a plain name")
                continue
            key = str(key_node.value)
            if key not in keys:
                self.report(key_node, _unknown_key(where, key, keys))
                continue
            if key in found:
                self.report(
                    key_node,
                    f"{_path(where, key, where_is_path)} is given twice "
                    f"(first on line {first_line[key]})",
                )
                continue
            found[key] = value_node
            first_line[key] = _line(key_node)
        for key, required in keys.items():
            if required and key not in found:
                self.report(node, f"{where} is missing '{key}'")
        return found

    # --- records ---------------------------------------------------------------------------

    def _library(self, node: Node, where: str) -> LibraryRecord | None:
        before = len(self.problems)
        fields = self._fields(node, where, _LIBRARY_KEYS)
        if fields is None:
            return None
        f = _Fields(self, fields, where)
        slug = self._slug(f, self._library_slugs)
        name = f.text("name", LIBRARY_NAME_MAX, required=True)
        level = f.choice("level", LEVELS, required=True)
        regency = f.choice("regency", sorted(REGENCY_CODES), required=True, list_choices=False)
        village = f.text("village", LIBRARY_NAME_MAX)
        address = f.text("address", TEXT_MAX, required=True)
        opening_hours = f.text("opening_hours", TEXT_MAX, required=True)
        contact = f.text("contact", TEXT_MAX)
        services = f.texts("services", SERVICE_MAX, SERVICES_MAX)
        catalogue = self._catalogue(fields.get("catalogue"), f"{where}.catalogue")
        if level == "village" and village is None and "village" not in f.invalid:
            self.report(
                fields.get("village", node), f"{where}.village is required for a village library"
            )
        if len(self.problems) > before:
            return None
        assert slug and name and level and regency and address and opening_hours
        return LibraryRecord(
            slug=slug,
            name=name,
            level=level,
            regency_code=regency,
            village=village,
            address=address,
            opening_hours=opening_hours,
            contact=contact,
            services=services or (),
            catalogue=catalogue,
        )

    def _catalogue(self, node: Node | None, where: str) -> tuple[str, str] | None:
        """`catalogue: {system: inlislite | slims, url: ...}`: (system, url) or None."""
        if node is None or _is_null(node):
            return None
        fields = self._fields(node, where, _CATALOGUE_KEYS)
        if fields is None:
            return None
        f = _Fields(self, fields, where)
        system = f.choice("system", CATALOGUE_SYSTEMS, required=True)
        url = f.text("url", TEXT_MAX, required=True)
        if url is not None and not url.startswith(("http://", "https://")):
            f._bad("url", f"must start with http:// or https:// (got '{url}')")
            return None
        if system is None or url is None:
            return None
        return (system, url)

    def _event(self, node: Node, where: str) -> EventRecord | None:
        before = len(self.problems)
        fields = self._fields(node, where, _EVENT_KEYS)
        if fields is None:
            return None
        f = _Fields(self, fields, where)
        slug = self._slug(f, self._event_slugs)
        library = f.text("library", SLUG_MAX, required=True)
        if (
            library is not None
            and library not in self._library_slugs
            and library not in self._known
        ):
            self.report(
                fields["library"],
                f"{where}.library '{library}' is not a library in this file or in the database",
            )
        title = f.text("title", TITLE_MAX, required=True)
        category = f.choice("category", CATEGORIES, required=True)
        description = f.text("description", DESCRIPTION_MAX, required=True, one_line=False)
        place = f.text("place", TEXT_MAX)
        starts = f.moment("starts", self._tz, self._today, required=True)
        ends = f.moment("ends", self._tz, self._today)
        duration = f.whole("duration_minutes", 1, "must be a positive whole number of minutes")
        capacity = f.whole("capacity", 1, "must be a positive whole number")
        waitlist = f.whole("waitlist", 0, "must be a whole number, 0 or more")
        questions = f.choices("questions", QUESTIONS)
        status = f.choice("status", STATUSES) or "open"
        opens = f.moment("registration_opens", self._tz, self._today)
        closes = f.moment("registration_closes", self._tz, self._today)

        if "ends" in fields and "duration_minutes" in fields:
            later = max(fields["ends"], fields["duration_minutes"], key=_line)
            self.report(later, f"{where} gives both 'ends' and 'duration_minutes'; keep one")
        elif "ends" not in fields and "duration_minutes" not in fields:
            self.report(node, f"{where} is missing 'ends' or 'duration_minutes'")
        if starts is not None and duration is not None:
            ends = starts + timedelta(minutes=duration)
        if starts is not None and ends is not None and "ends" in fields and ends <= starts:
            self.report(fields["ends"], f"{where}.ends must be after starts")
        if waitlist is not None and "capacity" not in fields:
            self.report(
                fields["waitlist"],
                f"{where}.waitlist needs a capacity: without a seat limit nobody ever waits",
            )
        if opens is not None and closes is not None and closes <= opens:
            self.report(
                fields["registration_closes"],
                f"{where}.registration_closes must be after registration_opens",
            )
        if opens is not None and ends is not None and opens >= ends:
            self.report(
                fields["registration_opens"],
                f"{where}.registration_opens must be before the event ends",
            )
        if len(self.problems) > before:
            return None
        assert slug and library and title and category and description
        assert starts is not None and ends is not None
        return EventRecord(
            slug=slug,
            library_slug=library,
            title=title,
            category=category,
            description=description,
            place=place,
            starts_at=starts,
            ends_at=ends,
            capacity=capacity,
            waitlist_limit=waitlist,
            questions=questions or (),
            status=status,
            registration_opens_at=opens,
            registration_closes_at=closes,
            line=_line(node),
        )

    def _slug(self, f: _Fields, seen: dict[str, int]) -> str | None:
        slug = f.text("slug", SLUG_MAX, required=True)
        if slug is None:
            return None
        node = f.fields["slug"]
        if slug in seen:
            self.report(node, f"{f.where}.slug '{slug}' is already used on line {seen[slug]}")
            return None
        # Remembered even when malformed, so events naming it are not reported a second time.
        seen[slug] = _line(node)
        if not _SLUG.fullmatch(slug):
            self.report(
                node,
                f"{f.where}.slug must use only lowercase letters a-z, digits and single '-' "
                f"between them (got '{slug}')",
            )
            return None
        return slug


class _Fields:
    """Typed reads of one record's values; each bad value is reported once and read as None."""

    def __init__(self, parser: _Parser, fields: dict[str, Node], where: str) -> None:
        self._parser = parser
        self.fields = fields
        self.where = where
        self.invalid: set[str] = set()

    def _bad(self, key: str, reason: str) -> None:
        self.invalid.add(key)
        self._parser.report(self.fields[key], f"{self.where}.{key} {reason}")

    def _scalar(self, key: str) -> ScalarNode | None:
        """The value's node, or None when absent or null (both mean 'not given')."""
        node = self.fields.get(key)
        if node is None or _is_null(node):
            return None
        if not isinstance(node, ScalarNode):
            self._bad(key, f"must be a single value, not {_describe(node)}")
            return None
        if node.tag not in _SCALAR_TAGS:
            self._bad(key, f"uses the YAML tag '{node.tag}', which is not supported")
            return None
        return node

    def _empty(self, key: str, required: bool) -> None:
        if required and key in self.fields and key not in self.invalid:
            self._bad(key, "must not be empty")

    def text(
        self, key: str, max_len: int, *, required: bool = False, one_line: bool = True
    ) -> str | None:
        node = self._scalar(key)
        # Any scalar is text here: a librarian who writes `contact: 0380821234` or `village: Oebelo`
        # means the words, whatever type YAML would give them.
        value = None if node is None else str(node.value).strip()
        if not value:
            self._empty(key, required)
            return None
        if one_line and "\n" in value:
            self._bad(key, "must be on one line")
            return None
        if len(value) > max_len:
            self._bad(key, f"is {len(value)} characters long; at most {max_len} are allowed")
            return None
        return value

    def texts(self, key: str, max_len: int, max_items: int) -> tuple[str, ...] | None:
        node = self.fields.get(key)
        if node is None or _is_null(node):
            return None
        if not isinstance(node, SequenceNode):
            self._bad(key, "must be a list, like [Peminjaman buku, Internet gratis]")
            return None
        values: list[str] = []
        for i, item in enumerate(node.value, start=1):
            path = f"{self.where}.{key}[{i}]"
            value = str(item.value).strip() if isinstance(item, ScalarNode) else ""
            if not isinstance(item, ScalarNode) or _is_null(item) or not value:
                self._parser.report(item, f"{path} must be a short text")
            elif "\n" in value or len(value) > max_len:
                self._parser.report(
                    item, f"{path} must be one line of at most {max_len} characters"
                )
            else:
                values.append(value)
                continue
            self.invalid.add(key)
        if len(node.value) > max_items:
            self._bad(key, f"has {len(node.value)} items; at most {max_items} are allowed")
        return None if key in self.invalid else tuple(values)

    def choice(
        self,
        key: str,
        choices: Sequence[str],
        *,
        required: bool = False,
        list_choices: bool = True,
    ) -> str | None:
        node = self._scalar(key)
        if node is None:
            self._empty(key, required)
            return None
        value = str(node.value).strip()
        if value not in choices:
            hint = (
                f"one of: {', '.join(choices)}"
                if list_choices
                else "a code listed in docs/content-file.md, such as kota-kupang or sikka"
            )
            close = difflib.get_close_matches(value, choices, n=1)
            self._bad(
                key,
                f"must be {hint} (got '{value}'"
                + (f"; did you mean '{close[0]}'?)" if close else ")"),
            )
            return None
        return value

    def choices(self, key: str, choices: Sequence[str]) -> tuple[str, ...] | None:
        values = self.texts(key, SERVICE_MAX, len(choices) * 2)
        if values is None:
            return None
        for value in set(values):
            if value not in choices:
                self._bad(key, f"may only list {', '.join(choices)} (got '{value}')")
                return None
            if values.count(value) > 1:
                self._bad(key, f"lists '{value}' twice")
                return None
        return values

    def whole(self, key: str, minimum: int, message: str) -> int | None:
        node = self._scalar(key)
        if node is None:
            return None
        value = str(node.value)
        # Only plain decimal digits: YAML 1.1 would also read 1:30 as 90 and 0x10 as 16.
        if node.tag != _YAML_TAG + "int" or not _WHOLE.fullmatch(value) or int(value) < minimum:
            self._bad(key, f"{message} (got '{value}')")
            return None
        return int(value)

    def moment(
        self, key: str, tz: ZoneInfo, today: date, *, required: bool = False
    ) -> datetime | None:
        node = self._scalar(key)
        if node is None:
            self._empty(key, required)
            return None
        value = str(node.value).strip()
        try:
            if match := _ABSOLUTE.fullmatch(value):
                year, month, day, hour, minute = map(int, match.groups())
                local = datetime(year, month, day, hour, minute, tzinfo=tz)
            elif match := _ABSOLUTE_DMY.fullmatch(value):
                day, month, year, hour, minute = map(int, match.groups())
                local = datetime(year, month, day, hour, minute, tzinfo=tz)
            elif match := _RELATIVE.fullmatch(value):
                days, hour, minute = map(int, match.groups())
                day_ = today + timedelta(days=days)
                local = datetime(day_.year, day_.month, day_.day, hour, minute, tzinfo=tz)
            else:
                self._bad(
                    key,
                    f'must be a local date and time like "2026-12-12 09:00" or '
                    f'"12-12-2026 09.00", or "+5 09:00" for 5 days from today at 09:00 '
                    f"(got '{value}')",
                )
                return None
        except ValueError:
            self._bad(key, f"is not a real date and time (got '{value}')")
            return None
        return local.astimezone(UTC)


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _YAML_TAG + "null"


def _path(where: str, key: str, where_is_path: bool) -> str:
    return f"{where}.{key}" if where_is_path else f"'{key}'"


def _unknown_key(where: str, key: str, keys: Mapping[str, bool]) -> str:
    close = difflib.get_close_matches(key, list(keys), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(keys)}"
    return f"{where} has an unknown key '{key}' ({hint})"
