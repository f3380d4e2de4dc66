"""Channel-neutral messages in and replies out, and the context a handler works with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from storage import Storage
from storage.models import Resident, Session

# Longer typed text is refused politely: no flow needs more, and it keeps rows small.
MAX_TEXT_CHARS = 1000
# Telegram allows 64 bytes of callback_data and WhatsApp 256 for a button id: keep the smaller.
MAX_PAYLOAD_BYTES = 64


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can show, declared by the channel and carried on every Incoming: the core
    pages long choice lists and shortens labels from these, once, for every channel."""

    max_choices: int = 100  # choices in one message; more are paged with a "more" choice
    max_buttons: int = 100  # up to this many choices are buttons, more a list
    button_label: int = 64  # characters of a button's label
    list_label: int = 64  # characters of a list row's label
    can_edit: bool = True  # can replace the message whose button was tapped
    max_text: int = 4096  # characters of one message (longer texts the channel splits)


# Telegram's keyboards take any number of buttons with long labels: nothing to page or shorten.
UNLIMITED = Capabilities()


@dataclass(frozen=True, slots=True)
class Incoming:
    """One thing a person sent: a command, a tapped button (payload) or free text."""

    channel: str  # telegram | whatsapp | terminal
    user_id: str  # stable identity on that channel
    text: str = ""
    payload: str | None = None
    command: str | None = None  # without the slash, lower-case
    args: str = ""
    language_hint: str | None = None  # the client's language, used before the person picks one
    media: str | None = None  # a sticker, photo, voice note... that the bot cannot read
    photo: str | None = None  # the channel's file id of a photo (flows that accept one use it)
    username: str | None = None  # @username where the channel has one (staff name people by it)
    forwarded_from: str | None = None  # user id behind a forwarded message or the one replied to
    capabilities: Capabilities = UNLIMITED

    @property
    def key(self) -> tuple[str, str]:
        return (self.channel, self.user_id)

    @classmethod
    def from_text(
        cls,
        *,
        channel: str,
        user_id: str,
        text: str,
        language_hint: str | None = None,
        capabilities: Capabilities = UNLIMITED,
    ) -> Incoming:
        """Typed text; `/name args` (or `/name@bot args` in Telegram groups) is a command."""
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, _, args = stripped[1:].partition(" ")
            command = head.split("@", 1)[0].lower()
            return cls(
                channel,
                user_id,
                text=stripped,
                command=command,
                args=args.strip(),
                language_hint=language_hint,
                capabilities=capabilities,
            )
        return cls(
            channel,
            user_id,
            text=stripped,
            language_hint=language_hint,
            capabilities=capabilities,
        )


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    payload: str
    # What the button stands for beyond its words, so typed answers match it: "yes" / "no",
    # a gender, "age:LO-HI", "place:<regency>" (see handlers/understand.py). Channels ignore it.
    means: str = ""
    # A second, quieter line where the channel has room for one (a WhatsApp list row's
    # description): "Pilihan 10–18 dari 22" under "Lainnya ›". Channels without it show the label.
    detail: str = ""

    def __post_init__(self) -> None:
        if 0 < len(self.payload) <= MAX_PAYLOAD_BYTES // 4:
            return  # a UTF-8 character is at most 4 bytes: short payloads always fit
        size = len(self.payload.encode("utf-8"))
        if not 1 <= size <= MAX_PAYLOAD_BYTES:
            raise ValueError(f"payload of {size} bytes: {self.payload!r}")


@dataclass(frozen=True, slots=True)
class Document:
    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    document: Document | None = None
    photo: str | None = None  # a channel file id; the text becomes its caption
    # Replace the message whose button was tapped instead of sending a new one (progress,
    # toggles); channels that cannot edit send it as a new message.
    edit: bool = False


class Handled(list[Reply]):
    """What `Dispatcher.handle` gives back: the replies (it is their list, so callers that only
    send them need nothing else), the language they are in and the choices they show, so a
    channel never reloads the session to learn what the core decided."""

    def __init__(
        self, replies: list[Reply], *, language: str, shown: tuple[Choice, ...] = ()
    ) -> None:
        super().__init__(replies)
        self.language = language
        self.shown = shown


class SmsCost(Protocol):
    """What the core knows of SMS costs; the GSM-7 rules live with the SMS channel and the bot
    layer hands this in, as it hands in the catalogs through Translator."""

    @property
    def daily_limit(self) -> int:
        """Segments a day (WITA), replies and outbox together."""
        ...

    @property
    def max_segments(self) -> int:
        """The most one SMS may take; a longer text is cut to it."""
        ...

    def segments(self, text: str) -> int:
        """Segments `text` takes as an SMS (in GSM-7), before any cut."""
        ...


class Translator(Protocol):
    """What handlers need of the message catalogs; the bot layer provides it."""

    def text(self, language: str, key: str, /, **values: object) -> str: ...

    def when(self, language: str, moment: datetime) -> str: ...

    def day(self, language: str, moment: datetime) -> str: ...

    def number(self, language: str, value: int) -> str: ...


@dataclass(frozen=True, slots=True)
class CoreSettings:
    timezone: str = "Asia/Makassar"
    events_window_days: int = 30
    page_size: int = 5
    # Seats one resident may take for others (family, neighbours) per event.
    proxy_limit: int = 5
    # Where the staff dashboard is reached (PUSTAKA_PUBLIC_URL); None: not served.
    dashboard_url: str | None = None
    # SMS is configured: offer adding SMS numbers (handlers/sms_people.py), and its costs, so an
    # announcement's author sees what sending it by SMS would take (handlers/sms_cost.py).
    sms: bool = False
    sms_cost: SmsCost | None = None


@dataclass
class Context:
    """Everything one handler call may use; built per incoming message by the dispatcher."""

    incoming: Incoming
    storage: Storage
    translator: Translator
    settings: CoreSettings
    session: Session
    resident: Resident | None
    language: str
    now: datetime
    replies: list[Reply] = field(default_factory=list)
    _joinable: Reply | None = field(default=None, repr=False)

    def t(self, key: str, /, **values: object) -> str:
        return self.translator.text(self.language, key, **values)

    def when(self, moment: datetime) -> str:
        return self.translator.when(self.language, moment)

    def say(self, text: str, *choices: Choice) -> None:
        # A plain text said just before goes out in the same message: fewer messages on a
        # patchy connection, and fewer calls against the platform's rate limits. Replies a
        # handler appends itself (a preview, a document) always stay messages of their own.
        last = self.replies[-1] if self.replies else None
        if last is not None and last is self._joinable:
            self.replies[-1] = Reply(text=f"{last.text}\n\n{text}", choices=tuple(choices))
        else:
            self.replies.append(Reply(text=text, choices=tuple(choices)))
        self._joinable = None if choices else self.replies[-1]

    def choice(self, key: str, payload: str, /, means: str = "", **values: object) -> Choice:
        return Choice(label=self.t(key, **values), payload=payload, means=means)

    @property
    def has_profile(self) -> bool:
        return self.resident is not None and self.resident.has_consent

    @property
    def home_regency(self) -> str | None:
        return self.resident.regency_code if self.has_profile and self.resident else None
