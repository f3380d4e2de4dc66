"""WhatsApp settings: tokens, Graph API root and version, templates per message kind, limits.

Kept apart from bot/config.py so WhatsApp's share of the configuration stays in one place;
`load_settings` calls `load_whatsapp_settings` and the result is `Settings.whatsapp`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.config_base import ConfigError, Secret
from bot.config_base import http_url as _url
from bot.config_base import whole_number as _int

_API_VERSION = re.compile(r"v\d+\.\d+")
# Graph API v26.0 came out on 29 July 2026; each version is served for about two years.
DEFAULT_API_VERSION = "v26.0"
CATEGORIES = ("utility", "marketing")
# Kinds whose text is written by staff for everyone: Meta counts such templates as marketing.
MARKETING_KINDS = frozenset({"announcement"})
# The approved body's own text (without parameters) when the file does not say: Pustaka's
# documented templates are all shorter than this.
DEFAULT_BODY_CHARS = 300
MAX_BODY = 1024


@dataclass(frozen=True)
class WhatsAppTemplate:
    """An approved template serving one outbox kind outside the 24-hour window."""

    kind: str
    name: str
    languages: Mapping[str, str]  # our language (id, en) -> Meta's language code (id, en_US)
    params: tuple[str, ...] = ()  # outbox row params, in the template's {{1}}, {{2}}... order
    buttons: int = 0  # quick-reply buttons in the approved template; they carry the row's payloads
    # Meta's category of the approved template: `utility` (about something the person asked
    # for: their registration, reminders, changes) or `marketing` (announcements: charged
    # more, limited per person, sent only to people who opted in and not stopped marketing).
    category: str = "utility"
    # The most characters each parameter may have, so the filled-in body stays within Meta's
    # 1,024; longer values are cut with "…".
    limits: tuple[int, ...] = ()

    @property
    def marketing(self) -> bool:
        return self.category == "marketing"


@dataclass(frozen=True)
class WhatsAppSettings:
    token: Secret
    phone_number_id: str
    app_secret: Secret
    verify_token: Secret
    api_url: str = "https://graph.facebook.com"
    api_version: str = DEFAULT_API_VERSION
    templates: Mapping[str, WhatsAppTemplate] = field(default_factory=dict)
    throughput: float = 80.0  # messages per second from our number
    daily_limit: int = 250  # people reached outside their window per rolling 24 hours


_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
_KIND = re.compile(r"[a-z][a-z0-9_]*")


def load_whatsapp_settings(values: Mapping[str, str]) -> WhatsAppSettings | None:
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
    version = values.get("WHATSAPP_API_VERSION", "").strip() or DEFAULT_API_VERSION
    if not _API_VERSION.fullmatch(version):
        raise ConfigError(
            "WHATSAPP_API_VERSION",
            f"expected a Graph API version like {DEFAULT_API_VERSION}, got {version!r}",
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
      category: utility            # or marketing (announcements must be)
      languages: {id: id, en: en_US}
      params: [event, when, {place: 120}]   # a number: the most characters of that parameter
      body_chars: 180              # the approved body's own text, without the parameters
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
        names, limits = _params(variable, where, params, spec.get("body_chars"))
        buttons = spec.get("buttons", 0)
        if not isinstance(buttons, int) or not 0 <= buttons <= 3:
            raise ConfigError(variable, f"{where}.buttons: how many quick-reply buttons, 0 to 3")
        category = spec.get("category", "marketing" if kind in MARKETING_KINDS else "utility")
        if category not in CATEGORIES:
            raise ConfigError(variable, f"{where}.category: utility or marketing")
        if kind in MARKETING_KINDS and category != "marketing":
            # Meta re-categorises free text written for everyone as marketing; declaring it
            # utility would only get the template re-categorised or the account flagged.
            raise ConfigError(variable, f"{where}.category: announcements are marketing")
        templates[kind] = WhatsAppTemplate(
            kind, name, dict(languages), names, buttons, category, limits
        )
    return templates


def _params(
    variable: str, where: str, params: object, body_chars: object
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Parameter names and the most characters of each: as written (`{place: 120}`), the rest
    sharing what the approved body leaves of Meta's 1,024."""
    if body_chars is None:
        body_chars = DEFAULT_BODY_CHARS
    if not isinstance(body_chars, int) or not 0 <= body_chars < MAX_BODY:
        raise ConfigError(variable, f"{where}.body_chars: characters of the body, 0 to 1023")
    if not isinstance(params, list):
        raise ConfigError(variable, f"{where}.params: a list of parameter names")
    names: list[str] = []
    given: list[int | None] = []
    for item in params:
        if isinstance(item, str):
            names.append(item)
            given.append(None)
        elif (
            isinstance(item, dict)
            and len(item) == 1
            and all(isinstance(k, str) and isinstance(v, int) and v >= 2 for k, v in item.items())
        ):
            ((name, most),) = item.items()
            names.append(name)
            given.append(most)
        else:
            raise ConfigError(
                variable, f"{where}.params: parameter names, or {{name: most characters}}"
            )
    left = MAX_BODY - body_chars - sum(g for g in given if g is not None)
    open_count = sum(1 for g in given if g is None)
    if left < 2 * open_count or (open_count == 0 and left < 0):
        raise ConfigError(variable, f"{where}.params: the limits exceed Meta's 1,024 characters")
    share = left // open_count if open_count else 0
    return tuple(names), tuple(g if g is not None else share for g in given)
