"""The webhook itself: verification handshake, signatures, bad payloads, media, duplicates
(across a restart too) and delivery receipts recorded against outbox rows."""

from __future__ import annotations

import json
from typing import Any

from bot.channels.whatsapp import WhatsAppChannel
from bot.runtime import Runtime
from storage.clock import utcnow
from storage.outbox import OutboxMessage, enqueue
from storage.whatsapp import WhatsAppRepo
from tests.conftest import whatsapp_settings
from tests.fakes.whatsapp_api import FakeGraphApi
from tests.whatsapp_harness import VERIFY_TOKEN, FakeClock, WhatsAppHarness, envelope, texts

PHONE = "6281234500002"


async def test_verification_handshake(wa: WhatsAppHarness) -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    async with wa.http.get(f"{wa.url}/webhooks/whatsapp", params=query) as response:
        assert response.status == 200
        assert await response.text() == "1158201444"
    for wrong in ({**query, "hub.verify_token": "guess"}, {**query, "hub.mode": "unsubscribe"}, {}):
        async with wa.http.get(f"{wa.url}/webhooks/whatsapp", params=wrong) as response:
            assert response.status == 403


async def test_healthz(wa: WhatsAppHarness) -> None:
    async with wa.http.get(f"{wa.url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"ok": True, "channels": ["whatsapp"]}


async def test_a_wrong_or_missing_signature_is_refused_and_nothing_processed(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    payload = wa.message(PHONE, "text", {"body": "/start"})
    for signature in ("sha256=" + "0" * 64, "md5=abc", None):
        response = await wa.post(payload, signature=signature)
        assert response.status == 403
    # Signed with another app's secret.
    from tests.whatsapp_harness import sign

    body = json.dumps(payload).encode()
    response = await wa.post(body, signature=sign(body, "someone-else"))
    assert response.status == 403
    assert wa.api.sent == []
    repo = WhatsAppRepo(runtime.storage.db)
    assert await repo.last_inbound(phone="+" + PHONE) is None
    # The same message, correctly signed, is then handled (its id was not burnt by the forgery).
    response = await wa.post(payload)
    assert response.status == 200 and "Selamat datang" in texts(wa.api.to(PHONE))


async def test_malformed_json_is_a_400_and_the_server_carries_on(wa: WhatsAppHarness) -> None:
    for body in (b"{not json", b"[1, 2]", b"", "\u00ff".encode("latin-1")):
        response = await wa.post(body)
        assert response.status == 400, body
    # Valid JSON of the wrong shape is acknowledged (Meta would retry a 4xx) and ignored.
    for odd in ({"entry": "x"}, {"entry": [{"changes": [{"value": 3}]}]}, {"object": "page"}):
        response = await wa.post(odd)
        assert response.status == 200
    weird = envelope({"messages": [{"id": "wamid.X1", "type": "text"}, {"from": PHONE}]})
    assert (await wa.post(weird)).status == 200
    assert wa.api.sent == []
    assert "Selamat datang" in texts(await wa.send(PHONE, "/start"))


async def test_media_and_unknown_types_get_a_polite_answer(wa: WhatsAppHarness) -> None:
    await wa.onboard(PHONE)
    contents: list[tuple[str, dict[str, Any]]] = [
        ("sticker", {"mime_type": "image/webp", "sha256": "abc", "id": "s1", "animated": False}),
        ("location", {"latitude": -10.17, "longitude": 123.6, "name": "Kupang"}),
        (
            "audio",
            {"mime_type": "audio/ogg; codecs=opus", "sha256": "x", "id": "a1", "voice": True},
        ),
        ("image", {"mime_type": "image/jpeg", "sha256": "y", "id": "i1", "caption": "foto"}),
        ("unsupported", {}),
    ]
    for kind, content in contents:
        sent = await wa.deliver(PHONE, wa.message(PHONE, kind, content))
        assert "hanya bisa membaca pesan teks" in texts(sent), kind
        assert sent[-1].type == "interactive"  # with the menu to carry on


async def test_system_messages_are_not_answered(wa: WhatsAppHarness) -> None:
    payload = wa.message(
        PHONE, "system", {"body": "User changed number", "type": "user_changed_number"}
    )
    assert await wa.deliver(PHONE, payload) == []


async def test_duplicate_deliveries_are_ignored_even_after_a_restart(
    wa: WhatsAppHarness, runtime: Runtime, wa_api: FakeGraphApi, wa_clock: FakeClock
) -> None:
    payload = wa.message(PHONE, "text", {"body": "/menu"})
    first = await wa.deliver(PHONE, payload)
    assert "Menu utama" in texts(first)
    assert await wa.deliver(PHONE, payload) == []
    # A new process on the same database still recognises the message id.
    again = await Runtime.open(runtime.settings)
    channel = WhatsAppChannel(
        whatsapp_settings(wa_api),
        again.dispatcher,
        again.translator,
        again.storage.whatsapp,
        clock=wa_clock,
    )
    await channel.start()
    try:
        await channel._process(payload)
        await channel.drain()
    finally:
        await channel.close()
        await again.close()
    assert len(wa_api.to(PHONE)) == len(first)


async def _outbox_row(runtime: Runtime, external_id: str) -> int:
    async with runtime.storage.db.transaction() as conn:
        await enqueue(
            conn,
            OutboxMessage(
                dedupe_key=f"announcement:test:{external_id}",
                kind="announcement",
                channel="whatsapp",
                recipient="+" + PHONE,
                text="Pengumuman",
            ),
            now=utcnow(),
        )
        await conn.execute(
            "UPDATE outbox SET status = 'sent', external_id = ? WHERE dedupe_key = ?",
            (external_id, f"announcement:test:{external_id}"),
        )
        row = await conn.fetchone("SELECT id FROM outbox WHERE external_id = ?", (external_id,))
    return int(row["id"])


def _status(external_id: str, status: str, **extra: Any) -> dict[str, Any]:
    return envelope(
        {
            "statuses": [
                {
                    "id": external_id,
                    "status": status,
                    "timestamp": "1764000000",
                    "recipient_id": PHONE,
                    **extra,
                }
            ]
        }
    )


async def test_delivery_statuses_are_recorded_against_outbox_rows(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    repo = WhatsAppRepo(runtime.storage.db)
    row = await _outbox_row(runtime, "wamid.OUT-1")
    for status in ("sent", "delivered", "read"):
        assert (await wa.post(_status("wamid.OUT-1", status))).status == 200
        receipt = await repo.receipt(external_id="wamid.OUT-1")
        assert receipt is not None and receipt.status == status and receipt.outbox_id == row
    # A late "delivered" never moves a read message back.
    await wa.post(_status("wamid.OUT-1", "delivered"))
    assert (await repo.receipt(external_id="wamid.OUT-1")).status == "read"  # type: ignore[union-attr]

    failed = await _outbox_row(runtime, "wamid.OUT-2")
    error = {"code": 131009, "title": "Parameter value is not valid"}
    await wa.post(_status("wamid.OUT-2", "failed", errors=[error]))
    receipt = await repo.receipt(external_id="wamid.OUT-2")
    assert receipt is not None and receipt.status == "failed" and "131009" in (receipt.error or "")
    outbox = await runtime.storage.db.reader.fetchone(
        "SELECT status, last_error FROM outbox WHERE id = ?", (failed,)
    )
    assert outbox["status"] == "failed" and "131009" in outbox["last_error"]

    # An unknown status is ignored.
    assert (await wa.post(_status("wamid.OUT-1", "deleted"))).status == 200
    assert (await repo.receipt(external_id="wamid.OUT-1")).status == "read"  # type: ignore[union-attr]


async def test_a_receipt_arriving_before_the_row_has_its_id_is_not_lost(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    repo = WhatsAppRepo(runtime.storage.db)
    # Meta's "sent" can overtake the worker storing the returned id on its row.
    await wa.post(_status("wamid.EARLY", "sent"))
    receipt = await repo.receipt(external_id="wamid.EARLY")
    assert receipt is not None and receipt.outbox_id is None
    row = await _outbox_row(runtime, "wamid.EARLY")
    assert (await repo.receipt_for_outbox(outbox_id=row)).status == "sent"  # type: ignore[union-attr]
    await wa.post(_status("wamid.EARLY", "delivered"))
    receipt = await repo.receipt(external_id="wamid.EARLY")
    assert receipt is not None and receipt.outbox_id == row and receipt.status == "delivered"


async def test_receipts_of_replies_are_pruned_after_two_days(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    from datetime import UTC, datetime, timedelta

    repo = WhatsAppRepo(runtime.storage.db)
    moment = datetime(2026, 11, 1, tzinfo=UTC)
    await repo.record_status(external_id="wamid.REPLY", status="read", at=moment)
    assert await repo.receipt(external_id="wamid.REPLY") is not None
    later = moment + timedelta(days=2, seconds=1)
    await repo.record_status(external_id="wamid.OTHER", status="sent", at=later)
    assert await repo.receipt(external_id="wamid.REPLY") is None


async def test_an_inbound_message_opens_the_window(
    wa: WhatsAppHarness, runtime: Runtime, wa_clock: FakeClock
) -> None:
    repo = WhatsAppRepo(runtime.storage.db)
    await wa.send(PHONE, "halo")
    assert await repo.last_inbound(phone="+" + PHONE) == wa_clock.now.replace(microsecond=0)
    assert await repo.in_window(phone="+" + PHONE, now=wa_clock.now)


async def test_messages_for_another_number_of_the_same_app_are_not_answered(
    wa: WhatsAppHarness,
) -> None:
    payload = wa.message(PHONE, "text", {"body": "/start"})
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    assert await wa.deliver(PHONE, payload) == []


async def test_a_message_from_the_person_releases_rows_held_outside_the_window(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    """A row held for lack of a template goes back to pending once the person writes: their
    24-hour window is open again and a free-form message may go."""
    from storage.outbox import OutboxMessage, enqueue

    phone = "+6281299990001"
    async with runtime.storage.db.transaction() as conn:
        await enqueue(
            conn,
            OutboxMessage(
                dedupe_key="test:held",
                kind="announcement",
                channel="whatsapp",
                recipient=phone,
                text="Pengumuman",
            ),
            now=utcnow(),
        )
        await conn.execute("UPDATE outbox SET status = 'held' WHERE dedupe_key = 'test:held'")
    await wa.send(phone, "halo")
    status = await runtime.storage.outbox.status_of(dedupe_key="test:held")
    assert status is not None and status[0] == "pending"
