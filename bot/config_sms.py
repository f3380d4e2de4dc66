"""SMS settings (docs/sms.md): the gateway's address and credentials, the webhook signing key,
the daily budget, the send rate and which outbox kinds go by SMS (announcements: per announcement).

SMS_GATEWAY_URL turns SMS on and requires the user, password and webhook secret: a gateway
whose webhooks we could not verify would let anyone who finds the URL register people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.config_base import ConfigError, Secret, http_url, rate, whole_number

# What matters enough to pay for by default: reminders, a waiting-list place that became a seat,
# and an event that moved or was called off. Announcements are not a kind to list here: each one
# goes by SMS only when its author includes SMS in /siaran (handlers/staff/broadcast.py).
DEFAULT_KINDS = ("reminder", "promotion", "event_changed", "event_cancelled")
_KNOWN_KINDS = DEFAULT_KINDS


@dataclass(frozen=True)
class SmsSettings:
    gateway_url: str  # local: http://<phone>:8080 ; cloud: https://api.sms-gate.app/3rdparty/v1
    user: str
    password: Secret
    webhook_secret: Secret
    daily_limit: int = 100  # segments per day (WITA), replies and outbox together
    rate: float = 0.5  # messages per second to the gateway
    kinds: tuple[str, ...] = DEFAULT_KINDS
    # A reply longer than this many 160-character segments is cut (each segment is paid for).
    max_segments: int = 3


def load_sms_settings(values: Mapping[str, str]) -> SmsSettings | None:
    names = ("SMS_GATEWAY_URL", "SMS_GATEWAY_USER", "SMS_GATEWAY_PASSWORD", "SMS_WEBHOOK_SECRET")
    given = {name: values.get(name, "").strip() for name in names}
    if not given["SMS_GATEWAY_URL"]:
        others = [name for name, value in given.items() if value]
        if others:
            raise ConfigError("SMS_GATEWAY_URL", f"required for SMS (because {others[0]} is set)")
        return None
    for name, value in given.items():
        if not value:
            raise ConfigError(name, "required for SMS (because SMS_GATEWAY_URL is set)")
    kinds_text = values.get("SMS_KINDS", "").strip()
    kinds = tuple(k.strip() for k in kinds_text.split(",") if k.strip()) or DEFAULT_KINDS
    if "announcement" in kinds:
        raise ConfigError(
            "SMS_KINDS",
            "announcements go by SMS only when their author includes SMS in /siaran; "
            "remove 'announcement'",
        )
    unknown = [k for k in kinds if k not in _KNOWN_KINDS]
    if unknown:
        raise ConfigError("SMS_KINDS", f"unknown kinds {unknown}; choose from {_KNOWN_KINDS}")
    return SmsSettings(
        gateway_url=http_url("SMS_GATEWAY_URL", given["SMS_GATEWAY_URL"]),
        user=given["SMS_GATEWAY_USER"],
        password=Secret(given["SMS_GATEWAY_PASSWORD"]),
        webhook_secret=Secret(given["SMS_WEBHOOK_SECRET"]),
        daily_limit=whole_number(
            "SMS_DAILY_LIMIT", values.get("SMS_DAILY_LIMIT", ""), 100, 0, 10_000_000
        ),
        rate=rate("SMS_RATE", values.get("SMS_RATE", ""), 0.5),
        kinds=kinds,
    )
