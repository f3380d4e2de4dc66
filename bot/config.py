"""Configuration, read once at start-up from the environment (and an optional `.env` file)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.config_base import ConfigError, Secret, http_url, whole_number
from bot.config_sms import SmsSettings, load_sms_settings
from bot.config_whatsapp import WhatsAppSettings, load_whatsapp_settings
from handlers.phone_numbers import NotAPhoneNumber, normalise_phone

__all__ = ["ConfigError", "Secret", "Settings", "StaffId", "load_settings"]


@dataclass(frozen=True)
class StaffId:
    channel: str  # telegram | whatsapp
    user_id: str


@dataclass(frozen=True)
class Settings:
    telegram_token: Secret | None = None
    telegram_api_url: str = "https://api.telegram.org"
    db_path: str = "pustaka.db"
    admins: tuple[StaffId, ...] = ()
    timezone: str = "Asia/Makassar"
    whatsapp: WhatsAppSettings | None = None
    sms: SmsSettings | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    telegram_webhook_url: str | None = None
    telegram_webhook_token: Secret | None = None
    # Delivery (docs/delivery.md). Telegram allows about 30 messages/s overall; stay below.
    telegram_rate: float = 25.0
    reminder_offsets: tuple[int, ...] = (24 * 60, 2 * 60)  # minutes before an event starts
    delivery_concurrency: int = 16
    # Operators (bot/ops.py, bot/metrics.py): where unexpected errors are reported, grouped and
    # rate-limited; whether /metrics is served even when no webhook needs the HTTP server.
    ops_chat: StaffId | None = None
    metrics: bool = False
    # Several instances: a claimed outbox row not sent within this long goes back to pending.
    delivery_lease: int = 60
    # The address people open the dashboard at (docs/dashboard.md); None: no dashboard.
    public_url: str | None = None

    @property
    def any_channel(self) -> bool:
        """Some channel is configured (else `pustaka run` opens the terminal chat)."""
        return any((self.telegram_token, self.whatsapp, self.sms))

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_token is not None

    @property
    def web_enabled(self) -> bool:
        """The HTTP server runs for WhatsApp's and the SMS gateway's webhooks, for Telegram in
        webhook mode, and for the dashboard."""
        return (
            self.whatsapp is not None
            or self.sms is not None
            or self.telegram_webhook_url is not None
            or self.public_url is not None
            or self.metrics
        )


_url = http_url
_int = whole_number


def _admins(value: str) -> tuple[StaffId, ...]:
    found = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        channel, _, ident = item.rpartition(":")
        channel = channel or "telegram"
        if channel == "telegram" and ident.lstrip("-").isdigit():
            found.append(StaffId("telegram", ident))
        elif channel == "whatsapp":
            try:
                found.append(StaffId("whatsapp", normalise_phone(ident)))
            except NotAPhoneNumber as exc:
                raise ConfigError(
                    "PUSTAKA_ADMINS",
                    f"{item!r}: an Indonesian mobile number (08…) or +<country code><number>",
                ) from exc
        else:
            raise ConfigError(
                "PUSTAKA_ADMINS",
                f"{item!r} is neither a Telegram user id nor whatsapp:+<number>",
            )
    return tuple(found)


def _token(value: str) -> Secret:
    # Bot API tokens look like 123456:ABC-...; catching a pasted URL or quote early saves a
    # confusing 404 from Telegram later.
    ident, _, rest = value.partition(":")
    if not ident.isdigit() or not rest or any(c.isspace() or c in "/'\"" for c in value):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN", "does not look like a Bot API token (<id>:<secret>)"
        )
    return Secret(value)


def load_whatsapp(values: Mapping[str, str]) -> WhatsAppSettings | None:
    return load_whatsapp_settings(values)


def _rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    # Above 1000/s is past even Telegram's paid broadcasts: surely a typo.
    if not 0 < rate <= 1000:
        raise ConfigError("PUSTAKA_TELEGRAM_RATE", f"not a rate in messages/s: {value!r}")
    return rate


def _offsets(value: str) -> tuple[int, ...]:
    """'24h,2h' or '90m' -> minutes before the start, largest first."""
    found = set()
    for item in filter(None, (part.strip().lower() for part in value.split(","))):
        number, unit = item[:-1], item[-1:]
        if unit not in ("h", "m") or not number.isdigit() or int(number) == 0:
            raise ConfigError(
                "PUSTAKA_REMINDER_OFFSETS", f"{item!r} is not like 24h or 90m (comma-separated)"
            )
        found.add(int(number) * (60 if unit == "h" else 1))
    return tuple(sorted(found, reverse=True))


def _positive_int(variable: str, value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise ConfigError(variable, f"not a positive whole number: {value!r}")
    return int(value)


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Settings from `environ` (default: the process environment) over the optional `.env` file."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    timezone = values.get("PUSTAKA_TIMEZONE", "").strip() or "Asia/Makassar"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError("PUSTAKA_TIMEZONE", f"unknown time zone {timezone!r}") from exc

    token = values.get("TELEGRAM_BOT_TOKEN", "").strip()
    db_path = values.get("PUSTAKA_DB", "").strip() or "pustaka.db"
    if Path(db_path).is_dir():
        raise ConfigError("PUSTAKA_DB", f"{db_path!r} is a directory, not a database file")
    webhook_url = values.get("TELEGRAM_WEBHOOK_URL", "").strip() or None
    webhook_secret = values.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
    if webhook_url is not None:
        webhook_url = _url("TELEGRAM_WEBHOOK_URL", webhook_url)
        if not token:
            raise ConfigError("TELEGRAM_WEBHOOK_URL", "set, but TELEGRAM_BOT_TOKEN is not")
        # Without the secret anyone who finds the URL could post forged updates.
        if not _WEBHOOK_SECRET.fullmatch(webhook_secret):
            raise ConfigError(
                "TELEGRAM_WEBHOOK_SECRET",
                "required with TELEGRAM_WEBHOOK_URL: 1-256 characters A-Z a-z 0-9 _ -",
            )
    return Settings(
        telegram_token=_token(token) if token else None,
        telegram_api_url=_url(
            "TELEGRAM_API_URL",
            values.get("TELEGRAM_API_URL", "").strip() or "https://api.telegram.org",
        ),
        db_path=db_path,
        admins=_admins(values.get("PUSTAKA_ADMINS", "")),
        timezone=timezone,
        whatsapp=load_whatsapp(values),
        sms=load_sms_settings(values),
        http_host=values.get("PUSTAKA_HTTP_HOST", "").strip() or "127.0.0.1",
        http_port=_int("PUSTAKA_HTTP_PORT", values.get("PUSTAKA_HTTP_PORT", ""), 8080, 0, 65535),
        telegram_webhook_url=webhook_url,
        telegram_webhook_token=Secret(webhook_secret) if webhook_url else None,
        telegram_rate=_rate(values.get("PUSTAKA_TELEGRAM_RATE", "").strip() or "25"),
        reminder_offsets=_offsets(values.get("PUSTAKA_REMINDER_OFFSETS", "").strip() or "24h,2h"),
        delivery_concurrency=_positive_int(
            "PUSTAKA_DELIVERY_CONCURRENCY",
            values.get("PUSTAKA_DELIVERY_CONCURRENCY", "").strip() or "16",
        ),
        ops_chat=_ops_chat(values.get("PUSTAKA_OPS_CHAT", "")),
        metrics=values.get("PUSTAKA_METRICS", "").strip().lower() in ("1", "true", "yes", "on"),
        delivery_lease=_positive_int(
            "PUSTAKA_DELIVERY_LEASE", values.get("PUSTAKA_DELIVERY_LEASE", "").strip() or "60"
        ),
        public_url=(
            _url("PUSTAKA_PUBLIC_URL", values["PUSTAKA_PUBLIC_URL"].strip())
            if values.get("PUSTAKA_PUBLIC_URL", "").strip()
            else None
        ),
    )


def _ops_chat(value: str) -> StaffId | None:
    """A Telegram chat id (a group's is negative) or whatsapp:+<number>."""
    if not value.strip():
        return None
    try:
        (chat,) = _admins(value)
    except (ConfigError, ValueError):
        raise ConfigError(
            "PUSTAKA_OPS_CHAT", f"{value!r} is neither a Telegram chat id nor whatsapp:+<number>"
        ) from None
    return chat


# --- The HTTP server and Telegram webhook mode (WhatsApp settings: bot/config_whatsapp.py) ---

_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
