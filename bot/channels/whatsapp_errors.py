"""What a WhatsApp error means for Pustaka, one table for every place an error shows up.

Meta reports a refused message either in the answer to the send call or later, in a `failed`
status webhook, and sometimes both. The same code gets the same treatment either way: the send
call raises the SendError built here for the delivery worker; the status webhook moves the row
the worker already marked sent in the same direction (see WhatsAppChannel._status).

Codes: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.channels.base import (
    Deferred,
    OutsideWindow,
    PermanentError,
    RateLimited,
    SendError,
    TransientError,
    Unreachable,
)

# Account-wide problems pause the channel this long; sends after it try again (and pause again,
# without a second alert, while the problem lasts).
ACCOUNT_PAUSE_SECONDS = 3600.0


class Action(Enum):
    RATE_LIMIT = "rate_limit"  # the whole channel slows down: pause it
    DEFER = "defer"  # only this message waits; the channel goes on
    HOLD = "hold"  # the row waits until the person writes (their window opens)
    UNREACHABLE = "unreachable"  # stop writing to this person until they write
    MARKETING_STOPPED = "marketing_stopped"  # no more announcements to them; the rest goes
    TRANSIENT = "transient"  # retry with backoff
    ACCOUNT = "account"  # our account cannot send: pause the channel, alert the operators
    PERMANENT = "permanent"  # this message is refused for good


@dataclass(frozen=True, slots=True)
class Rule:
    action: Action
    seconds: float = 0.0  # how long to pause or defer
    why: str = ""


CODES: dict[int, Rule] = {
    4: Rule(Action.RATE_LIMIT, 60.0, "too many API calls for the app"),
    80007: Rule(Action.RATE_LIMIT, 60.0, "WhatsApp Business Account rate limit"),
    130429: Rule(Action.RATE_LIMIT, 1.0, "throughput of our number exceeded"),
    131048: Rule(Action.RATE_LIMIT, 600.0, "spam rate limit: slow down markedly"),
    # Too many messages to this one person (about one per 6 s): that row waits, others go on.
    131056: Rule(Action.DEFER, 60.0, "pair rate limit: too many messages to this person"),
    # Not delivered "to maintain healthy ecosystem engagement": Meta limits how many marketing
    # messages one person gets; trying again within a day only fails again.
    131049: Rule(Action.DEFER, 24 * 3600.0 + 60.0, "marketing message limit for this person"),
    131047: Rule(Action.HOLD, 0.0, "more than 24 hours since the person wrote"),
    # The template was paused for low quality: nothing sent with it goes until it is fixed or
    # the person writes (then the message goes free-form).
    132015: Rule(Action.HOLD, 0.0, "template paused for low quality"),
    131026: Rule(Action.UNREACHABLE, 0.0, "undeliverable: not on WhatsApp, old app, or blocked us"),
    131021: Rule(Action.UNREACHABLE, 0.0, "the recipient is our own number"),
    131050: Rule(Action.MARKETING_STOPPED, 0.0, "the person stopped marketing messages from us"),
    1: Rule(Action.TRANSIENT, 0.0, "unknown API error"),
    2: Rule(Action.TRANSIENT, 0.0, "API service unavailable"),
    131000: Rule(Action.TRANSIENT, 0.0, "something went wrong at Meta"),
    131016: Rule(Action.TRANSIENT, 0.0, "service overloaded"),
    133004: Rule(Action.TRANSIENT, 0.0, "server temporarily unavailable"),
    131057: Rule(Action.TRANSIENT, 0.0, "business account in maintenance mode"),
    131053: Rule(Action.TRANSIENT, 0.0, "media upload error"),
    368: Rule(Action.ACCOUNT, ACCOUNT_PAUSE_SECONDS, "account temporarily blocked for policy"),
    131031: Rule(Action.ACCOUNT, ACCOUNT_PAUSE_SECONDS, "business account locked"),
    190: Rule(Action.ACCOUNT, ACCOUNT_PAUSE_SECONDS, "access token expired or invalid"),
    131042: Rule(Action.ACCOUNT, ACCOUNT_PAUSE_SECONDS, "payment problem on the account"),
}


class AccountProblem(RateLimited):
    """Meta refuses everything our account sends (blocked, locked, token, payment). A
    RateLimited, so the delivery worker pauses the channel and keeps the row without spending an
    attempt; the sender records the pause and alerts the operators."""

    def __init__(self, retry_after: float, code: int | None, detail: str) -> None:
        super().__init__(retry_after, detail)
        self.code = code


class MarketingStopped(PermanentError):
    """The person stopped marketing messages from us: this announcement is not sent. Their
    reminders and answers still are (they are not marked unreachable)."""


def classify(code: int | None, http_status: int | None = None) -> Rule:
    if code is not None and code in CODES:
        return CODES[code]
    if http_status == 429:
        return Rule(Action.RATE_LIMIT, 1.0, "HTTP 429")
    if http_status == 401:
        return Rule(Action.ACCOUNT, ACCOUNT_PAUSE_SECONDS, "HTTP 401: token refused")
    if http_status is not None and http_status >= 500:
        return Rule(Action.TRANSIENT, 0.0, f"HTTP {http_status}")
    return Rule(Action.PERMANENT, 0.0, "refused")


def send_error(
    code: int | None, detail: str, *, http_status: int | None = None, retry_after: str | None = None
) -> SendError:
    """The SendError the delivery worker acts on for this code."""
    rule = classify(code, http_status)
    text = f"{detail} [{rule.action.value}: {rule.why}]" if rule.why else detail
    if rule.action is Action.RATE_LIMIT:
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else rule.seconds
        return RateLimited(seconds, text)
    if rule.action is Action.ACCOUNT:
        return AccountProblem(rule.seconds, code, text)
    if rule.action is Action.DEFER:
        return Deferred(rule.seconds, text)
    if rule.action is Action.HOLD:
        return OutsideWindow(text)
    if rule.action is Action.UNREACHABLE:
        return Unreachable(text)
    if rule.action is Action.MARKETING_STOPPED:
        return MarketingStopped(text)
    if rule.action is Action.TRANSIENT:
        return TransientError(text)
    return PermanentError(text)
