"""What the operators' Prometheus scrapes at /metrics (prometheus-client's text format).

One registry for the process; the channels, the dispatcher's hook and the outbox worker count
into it through the small functions below, so no other module needs to know prometheus-client.
"""

from __future__ import annotations

import time
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from storage.clock import utcnow

REGISTRY = CollectorRegistry()
CONTENT_TYPE = CONTENT_TYPE_LATEST

UPDATES = Counter(
    "pustaka_updates",
    "Messages and taps handled by the core, by channel and outcome (ok, error, busy).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
REPLIES = Counter(
    "pustaka_replies",
    "Interactive replies, by channel and status (sent, deferred to the outbox, failed).",
    ["channel", "status"],
    registry=REGISTRY,
)
OUTBOX = Counter(
    "pustaka_outbox_rows",
    "Outbox rows by channel and what the send did (sent, retry, failed, held, unreachable).",
    ["channel", "status"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "pustaka_rate_limited",
    "429 answers (too many requests) from a platform, by channel.",
    ["channel"],
    registry=REGISTRY,
)
REPLY_SECONDS = Histogram(
    "pustaka_reply_seconds",
    "From a message reaching the core to its last reply handed to the platform.",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
    registry=REGISTRY,
)
DELIVERY_LAG = Histogram(
    "pustaka_delivery_lag_seconds",
    "From an outbox row's due time to its send, by channel and kind.",
    ["channel", "kind"],
    buckets=(0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
    registry=REGISTRY,
)


def update(channel: str, outcome: str) -> None:
    UPDATES.labels(channel, outcome).inc()


def reply(channel: str, status: str, started: float | None = None) -> None:
    REPLIES.labels(channel, status).inc()
    if started is not None and status == "sent":
        REPLY_SECONDS.labels(channel).observe(time.monotonic() - started)


def outbox_row(channel: str, status: str) -> None:
    OUTBOX.labels(channel, status).inc()


def outbox_sent(channel: str, kind: str, due_at: datetime) -> None:
    OUTBOX.labels(channel, "sent").inc()
    DELIVERY_LAG.labels(channel, kind).observe(max((utcnow() - due_at).total_seconds(), 0.0))


def rate_limited(channel: str) -> None:
    RATE_LIMITED.labels(channel).inc()


def exposition() -> bytes:
    return generate_latest(REGISTRY)
