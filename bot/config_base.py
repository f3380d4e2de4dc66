"""What every settings module builds on: the error that names a variable, secrets that never
show themselves, and the checks for URLs and whole numbers. Kept apart so each channel's
settings module (bot/config_whatsapp.py, bot/config_sms.py) and bot/config.py import this one,
and none of them imports another: no import circle."""

from __future__ import annotations

from urllib.parse import urlparse


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


def http_url(variable: str, value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(variable, f"not an http(s) URL: {value!r}")
    return value.rstrip("/")


def whole_number(variable: str, text: str, default: int, low: int, high: int) -> int:
    if not text.strip():
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise ConfigError(variable, f"not a whole number: {text!r}") from None
    if not low <= value <= high:
        raise ConfigError(variable, f"{value} is outside {low}..{high}")
    return value


def rate(variable: str, text: str, default: float) -> float:
    """Messages per second, in (0, 1000]: above that is surely a typo."""
    if not text.strip():
        return default
    try:
        value = float(text.strip())
    except ValueError:
        value = 0.0
    if not 0 < value <= 1000:
        raise ConfigError(variable, f"not a rate in messages/s: {text!r}")
    return value
