"""Configuration, read once at start-up from the environment (and an optional `.env` file)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from dotenv import dotenv_values


class ConfigError(Exception):
    """A setting has a wrong value; the message names the variable."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable}: {reason}")
        self.variable = variable


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks."""

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class StaffId:
    channel: str  # telegram | whatsapp
    user_id: str


@dataclass(frozen=True)
class WhatsAppTemplate:
    """An approved template serving one outbox kind outside the 24-hour window."""

    kind: str
    name: str
    languages: Mapping[str, str]  # our language (id, en) -> Meta's language code (id, en_US)
    params: tuple[str, ...] = ()  # outbox row params, in the template's {{1}}, {{2}}... order
    buttons: int = 0  # quick-reply buttons in the approved template; they carry the row's payloads


@dataclass(frozen=True)
class WhatsAppSettings:
    token: Secret
    phone_number_id: str
    app_secret: Secret
    verify_token: Secret
    api_url: str = "https://graph.facebook.com"
    api_version: str = "v21.0"
    templates: Mapping[str, WhatsAppTemplate] = field(default_factory=dict)
    throughput: float = 80.0  # messages per second from our number
    daily_limit: int = 250  # people reached outside their window per rolling 24 hours


@dataclass(frozen=True)
class Settings:
    telegram_token: Secret | None = None
    telegram_api_url: str = "https://api.telegram.org"
    db_path: str = "pustaka.db"
    admins: tuple[StaffId, ...] = ()
    timezone: str = "Asia/Makassar"
    whatsapp: WhatsAppSettings | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    telegram_webhook_url: str | None = None
    telegram_webhook_token: Secret | None = None

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_token is not None

    @property
    def web_enabled(self) -> bool:
        """The HTTP server runs for WhatsApp's webhook and for Telegram in webhook mode."""
        return self.whatsapp is not None or self.telegram_webhook_url is not None


def _url(variable: str, value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(variable, f"not an http(s) URL: {value!r}")
    return value.rstrip("/")


def _admins(value: str) -> tuple[StaffId, ...]:
    found = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        channel, _, ident = item.rpartition(":")
        channel = channel or "telegram"
        if channel == "telegram" and ident.lstrip("-").isdigit():
            found.append(StaffId("telegram", ident))
        elif channel == "whatsapp" and ident.startswith("+") and ident[1:].isdigit():
            found.append(StaffId("whatsapp", ident))
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
        whatsapp=_whatsapp(values),
        http_host=values.get("PUSTAKA_HTTP_HOST", "").strip() or "127.0.0.1",
        http_port=_int("PUSTAKA_HTTP_PORT", values.get("PUSTAKA_HTTP_PORT", ""), 8080, 0, 65535),
        telegram_webhook_url=webhook_url,
        telegram_webhook_token=Secret(webhook_secret) if webhook_url else None,
    )


# --- WhatsApp and the HTTP server -------------------------------------------------------------

_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_API_VERSION = re.compile(r"v\d+\.\d+")
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
_KIND = re.compile(r"[a-z][a-z0-9_]*")


def _int(variable: str, text: str, default: int, low: int, high: int) -> int:
    if not text.strip():
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise ConfigError(variable, f"not a whole number: {text!r}") from None
    if not low <= value <= high:
        raise ConfigError(variable, f"{value} is outside {low}..{high}")
    return value


def _whatsapp(values: Mapping[str, str]) -> WhatsAppSettings | None:
    names = ("WHATSAPP_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_APP_SECRET")
    given = {name: values.get(name, "").strip() for name in (*names, "WHATSAPP_VERIFY_TOKEN")}
    if not any(given.values()):
        return None
    # Half a configuration would start a server that cannot verify or send: name what is missing.
    for name, value in given.items():
        if not value:
            others = ", ".join(n for n, v in given.items() if v)
            raise ConfigError(name, f"required for WhatsApp (because {others} is set)")
    if not given["WHATSAPP_PHONE_NUMBER_ID"].isdigit():
        raise ConfigError(
            "WHATSAPP_PHONE_NUMBER_ID",
            "the numeric phone number id from the Meta app, not the phone number itself",
        )
    if any(c.isspace() for c in given["WHATSAPP_TOKEN"]):
        raise ConfigError("WHATSAPP_TOKEN", "contains spaces; paste the token alone")
    version = values.get("WHATSAPP_API_VERSION", "").strip() or "v21.0"
    if not _API_VERSION.fullmatch(version):
        raise ConfigError(
            "WHATSAPP_API_VERSION", f"expected a Graph API version like v21.0, got {version!r}"
        )
    throughput_text = values.get("WHATSAPP_THROUGHPUT", "").strip() or "80"
    try:
        throughput = float(throughput_text)
    except ValueError:
        throughput = 0.0
    if not 0 < throughput <= 1000:
        raise ConfigError(
            "WHATSAPP_THROUGHPUT", f"messages per second in (0, 1000], got {throughput_text!r}"
        )
    templates_path = values.get("WHATSAPP_TEMPLATES", "").strip()
    return WhatsAppSettings(
        token=Secret(given["WHATSAPP_TOKEN"]),
        phone_number_id=given["WHATSAPP_PHONE_NUMBER_ID"],
        app_secret=Secret(given["WHATSAPP_APP_SECRET"]),
        verify_token=Secret(given["WHATSAPP_VERIFY_TOKEN"]),
        api_url=_url(
            "WHATSAPP_API_URL",
            values.get("WHATSAPP_API_URL", "").strip() or "https://graph.facebook.com",
        ),
        api_version=version,
        templates=load_templates(Path(templates_path)) if templates_path else {},
        throughput=throughput,
        daily_limit=_int(
            "WHATSAPP_DAILY_LIMIT", values.get("WHATSAPP_DAILY_LIMIT", ""), 250, 1, 10_000_000
        ),
    )


def load_templates(path: Path) -> dict[str, WhatsAppTemplate]:
    """The WHATSAPP_TEMPLATES file (YAML or JSON): for each outbox kind, the approved template.

    reminder:
      name: pustaka_pengingat_acara
      languages: {id: id, en: en_US}
      params: [event, when, place]
    """
    variable = "WHATSAPP_TEMPLATES"
    try:
        text = path.read_text("utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except OSError as exc:
        raise ConfigError(variable, f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(variable, f"{path} is not valid YAML/JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(variable, f"{path}: expected a mapping of message kind to template")
    templates = {}
    for kind, spec in data.items():
        where = f"{path}: {kind}"
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise ConfigError(variable, f"{where}: a message kind is a lower-case word")
        if not isinstance(spec, dict):
            raise ConfigError(variable, f"{where}: expected name, languages and params")
        name, languages, params = spec.get("name"), spec.get("languages"), spec.get("params", [])
        if not isinstance(name, str) or not _TEMPLATE_NAME.fullmatch(name):
            raise ConfigError(variable, f"{where}.name: lower-case letters, digits and _ only")
        if (
            not isinstance(languages, dict)
            or not languages
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in languages.items())
            or not set(languages) <= {"id", "en"}
        ):
            raise ConfigError(
                variable,
                f"{where}.languages: map id/en to Meta's codes, e.g. {{id: id, en: en_US}}",
            )
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            raise ConfigError(variable, f"{where}.params: a list of parameter names")
        buttons = spec.get("buttons", 0)
        if not isinstance(buttons, int) or not 0 <= buttons <= 3:
            raise ConfigError(variable, f"{where}.buttons: how many quick-reply buttons, 0 to 3")
        templates[kind] = WhatsAppTemplate(kind, name, dict(languages), tuple(params), buttons)
    return templates
