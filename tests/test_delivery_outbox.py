"""The outbox repository: claiming, outcomes, cancelling, recovery and the CLI figures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.runtime import Runtime
from storage.clock import utcnow
from storage.outbox import OutboxMessage, cancel_pending, enqueue
from tests.delivery_helpers import message


async def test_enqueue_keeps_its_signature_and_dedupes(runtime: Runtime) -> None:
    async with runtime.storage.db.transaction() as conn:
        assert await enqueue(conn, message(1), now=utcnow())
        assert not await enqueue(conn, message(1), now=utcnow())
    assert (await runtime.storage.outbox.stats()).by_status == {"pending": 1}


async def test_claim_takes_priority_then_due_time_and_never_twice(runtime: Runtime) -> None:
    outbox = runtime.storage.outbox
    now = utcnow()
    rows = [
        OutboxMessage("a", "announcement", "telegram", "1", "a", due_at=now - timedelta(minutes=5)),
        OutboxMessage("b", "announcement", "telegram", "2", "b", due_at=now - timedelta(minutes=9)),
        OutboxMessage("c", "promotion", "telegram", "3", "c", priority=10, due_at=now),
        OutboxMessage("d", "announcement", "telegram", "4", "d", due_at=now + timedelta(hours=1)),
        OutboxMessage("e", "announcement", "whatsapp", "+62", "e", due_at=now),
    ]
    await outbox.add_many(rows, now=utcnow())
    first = await outbox.claim(channels=["telegram"], limit=2, now=now)
    assert [r.dedupe_key for r in first] == ["c", "b"]
    assert all(r.attempts == 1 for r in first)
    second = await outbox.claim(channels=["telegram"], limit=10, now=now)
    assert [r.dedupe_key for r in second] == ["a"]  # d is not due, e is another channel
    assert (await outbox.stats()).by_status == {"pending": 2, "sending": 3}


async def test_outcomes_retry_release_and_reset(runtime: Runtime) -> None:
    outbox = runtime.storage.outbox
    await outbox.add_many([message(n) for n in range(4)], now=utcnow())
    a, b, c, d = await outbox.claim(channels=["telegram"], limit=4, now=utcnow())
    await outbox.mark_sent(row_id=a.id, external_id="77", now=utcnow())
    later = utcnow() + timedelta(minutes=1)
    await outbox.retry(row_id=b.id, due_at=later, error="Bad Gateway", now=utcnow())
    await outbox.finish(
        row_id=c.id, status="failed", reason="Bad Request: chat not found", now=utcnow()
    )
    assert await outbox.release(row_ids=[d.id], now=utcnow()) == 1
    assert await outbox.status_of(dedupe_key=b.dedupe_key) == ("pending", "Bad Gateway", later)
    again = await outbox.claim(channels=["telegram"], limit=5, now=utcnow())
    assert [r.dedupe_key for r in again] == [d.dedupe_key]
    assert again[0].attempts == 1  # the released claim was given back
    # A crash now leaves d in `sending`; the next start-up makes it pending again.
    assert await outbox.reset_sending(now=utcnow()) == 1
    stats = await outbox.stats()
    assert stats.by_status == {"sent": 1, "pending": 2, "failed": 1}
    assert stats.oldest_pending is not None and stats.oldest_pending[2] == d.dedupe_key
    assert await outbox.retry_failed(now=utcnow()) == 1
    assert (await outbox.status_of(dedupe_key=c.dedupe_key) or ("",))[0] == "pending"


async def test_cancel_by_resident_event_and_key_prefix(runtime: Runtime) -> None:
    outbox = runtime.storage.outbox
    resident = await runtime.storage.residents.ensure(
        channel="telegram", external_id="900", language="id", now=utcnow()
    )
    await outbox.add_many(
        [
            OutboxMessage(
                "reminder:7:24h", "reminder", "telegram", "900", "", resident_id=resident.id
            ),
            OutboxMessage(
                "reminder:7:2h", "reminder", "telegram", "900", "", resident_id=resident.id
            ),
            OutboxMessage(
                "reminder:70:2h", "reminder", "telegram", "900", "", resident_id=resident.id
            ),
            OutboxMessage(
                "announcement:1:900",
                "announcement",
                "telegram",
                "900",
                "x",
                resident_id=resident.id,
            ),
        ],
        now=utcnow(),
    )
    async with runtime.storage.db.transaction() as conn:
        # "reminder:7:" must not catch "reminder:70:".
        assert (
            await cancel_pending(
                conn, reason="registration cancelled", key_prefix="reminder:7:", now=utcnow()
            )
            == 2
        )
    assert (
        await outbox.cancel(
            reason="stop", resident_id=resident.id, kinds=["announcement"], now=utcnow()
        )
        == 1
    )
    assert (await outbox.status_of(dedupe_key="reminder:70:2h") or ("",))[0] == "pending"
    assert (await outbox.status_of(dedupe_key="reminder:7:2h") or ("", ""))[:2] == (
        "cancelled",
        "registration cancelled",
    )
    with pytest.raises(ValueError):
        await outbox.cancel(reason="everything", now=utcnow())


async def test_blocked_person_is_flagged_until_they_write(runtime: Runtime) -> None:
    outbox = runtime.storage.outbox
    resident = await runtime.storage.residents.ensure(
        channel="telegram", external_id="901", language="id", now=utcnow()
    )
    await outbox.add_many(
        [message(n, chat=901, resident_id=resident.id) for n in range(3)], now=utcnow()
    )
    assert (
        await outbox.mark_unreachable(
            channel="telegram", recipient="901", resident_id=resident.id, now=utcnow()
        )
        == 3
    )
    assert await outbox.is_unreachable(channel="telegram", external_id="901")
    # Something queued for them later is cancelled when it falls due, not sent.
    await outbox.add(message(9, chat=901, resident_id=resident.id), now=utcnow())
    assert await outbox.claim(channels=["telegram"], limit=5, now=utcnow()) == []
    assert (await outbox.status_of(dedupe_key="announcement:test:9") or ("", ""))[:2] == (
        "cancelled",
        "unreachable",
    )
    assert await outbox.reachable_again(channel="telegram", external_id="901", now=utcnow())
    assert not await outbox.reachable_again(channel="telegram", external_id="901", now=utcnow())
    assert not await outbox.is_unreachable(channel="telegram", external_id="901")
