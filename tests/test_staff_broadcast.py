"""/siaran and /siaranku through the real Application: audiences, preview, scheduling,
cancellation, progress edited in place, and every wrong input of the flow."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

import storage.broadcasts as broadcasts_module
from bot.channels.telegram import TelegramSender
from bot.delivery.limits import ChannelLimiter, Limits
from bot.delivery.worker import DeliveryWorker
from bot.runtime import Runtime
from bot.staff_progress import BroadcastProgress
from storage.broadcasts import Audience
from storage.clock import from_db, utcnow
from storage.staff_events import NewEvent
from tests.fakes.telegram_api import FakeBotApi
from tests.staff_support import ADMIN, library_id, outbox_rows, resident, set_outbox_status
from tests.staff_support import settings as settings  # noqa: F401 - fixture with an admin
from tests.telegram_harness import TelegramHarness, buttons, payloads, texts

LIBRARIAN = 7202
WITA = ZoneInfo("Asia/Makassar")


async def _population(runtime: Runtime) -> dict[str, list[int]]:
    """Ende: 4 reachable (one English), 1 stopped announcements, 1 without consent; Alor: 2."""
    ende = [await resident(runtime, 8000 + i, "ende") for i in range(3)]
    ende.append(await resident(runtime, 8003, "ende", language="en"))
    await resident(runtime, 8004, "ende", announcements_off=True)
    await resident(runtime, 8005, "ende", consent=False)
    alor = [await resident(runtime, 8100 + i, "alor") for i in range(2)]
    return {"ende": [r.id for r in ende], "alor": [r.id for r in alor]}


async def _librarian(tg: TelegramHarness) -> None:
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")


async def test_librarian_announces_to_their_regency_now(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    people = await _population(runtime)
    await _librarian(tg)
    calls = await tg.send(LIBRARIAN, "/siaran")
    assert "Pengumuman baru" in texts(calls)
    await tg.send(LIBRARIAN, "Besok ada pelatihan komputer gratis di perpustakaan.")
    calls = await tg.tap(LIBRARIAN, "bc:a:all")
    text = texts(calls)
    # Preview exactly as a resident will see it, then the count: 4 reachable in Ende.
    assert "Pratinjau untuk warga Ende" in text
    preview = calls[1].text
    assert preview.startswith("📢 Perpustakaan Daerah Kabupaten Ende\n\nBesok ada pelatihan")
    assert preview.endswith("Ketik /berhenti")
    assert "Jumlah penerima: 4" in text
    assert payloads(calls)[:2] == ["bc:now", "bc:later"]
    calls = await tg.tap(LIBRARIAN, "bc:now")
    assert "Kirim sekarang kepada 4 penerima?" in texts(calls)
    calls = await tg.tap(LIBRARIAN, "bc:ok")
    assert "Pengumuman #1 sedang dikirim kepada 4 penerima" in texts(calls)

    rows = await outbox_rows(runtime)
    assert sorted(int(str(r["resident_id"])) for r in rows) == sorted(people["ende"])
    assert {r["dedupe_key"] for r in rows} == {f"broadcast:1:{i}" for i in people["ende"]}
    assert {r["kind"] for r in rows} == {"announcement"}
    bodies = {str(r["language"]): json.loads(str(r["body"]))["text"] for r in rows}
    assert bodies["id"] == preview
    assert bodies["en"].endswith("Type /stop")
    # Buttons of the finished flow cannot send it twice.
    assert "kedaluwarsa" in texts(await tg.tap(LIBRARIAN, "bc:ok"))
    assert len(await outbox_rows(runtime)) == 4
    entries, _ = await runtime.storage.staff.audit_entries()
    assert any(e.action == "broadcast.create" and e.target == "broadcast:1" for e in entries)


async def test_scheduled_announcement_wrong_dates_then_cancel(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    people = await _population(runtime)
    await tg.send(ADMIN, "/siaran")
    await tg.send(ADMIN, "Perpustakaan keliling datang ke desa Anda minggu depan.")
    calls = await tg.tap(ADMIN, "bc:a:rs")
    assert "bc:a:r:alor" in payloads(calls)
    calls = await tg.tap(ADMIN, "bc:a:r:alor")
    assert "Jumlah penerima: 2" in texts(calls)
    calls = await tg.tap(ADMIN, "bc:later")
    assert "WITA" in texts(calls)
    assert "tidak bisa membaca" in texts(await tg.send(ADMIN, "besok pagi"))
    assert "tidak bisa membaca" in texts(await tg.send(ADMIN, "31-02-2027 09.00"))
    past = (utcnow() - timedelta(days=1)).astimezone(WITA).strftime("%d-%m-%Y %H.%M")
    assert "sudah lewat" in texts(await tg.send(ADMIN, past))
    far = (utcnow() + timedelta(days=400)).astimezone(WITA).strftime("%d-%m-%Y 09.00")
    assert "Paling jauh" in texts(await tg.send(ADMIN, far))
    when = (utcnow() + timedelta(days=3)).astimezone(WITA).replace(hour=9, minute=0, second=0)
    calls = await tg.send(ADMIN, when.strftime("%d/%m/%Y 09:00"))
    assert "Jadwalkan untuk 2 penerima pada" in texts(calls) and "09.00 WITA" in texts(calls)
    calls = await tg.tap(ADMIN, "bc:ok")
    assert "dijadwalkan untuk 2 penerima" in texts(calls)

    rows = await outbox_rows(runtime)
    assert sorted(int(str(r["resident_id"])) for r in rows) == sorted(people["alor"])
    assert {from_db(str(r["due_at"])) for r in rows} == {when}  # aware datetimes compare in UTC

    calls = await tg.send(ADMIN, "/siaranku")
    assert "#1 · terjadwal" in texts(calls) and "warga Alor" in texts(calls)
    assert "bc:v:1" in payloads(calls)
    calls = await tg.tap(ADMIN, "bc:c:1")
    assert payloads(calls) == ["bc:cy:1", "bc:v:1", "bcm:0", "stc:peran"]
    calls = await tg.tap(ADMIN, "bc:cy:1")
    assert "#1 dibatalkan; 2 pesan" in texts(calls)
    assert {r["status"] for r in await outbox_rows(runtime)} == {"cancelled"}
    assert "sudah selesai atau sudah dibatalkan" in texts(await tg.tap(ADMIN, "bc:cy:1"))
    assert "#1 · dibatalkan" in texts(await tg.send(ADMIN, "/siaranku"))


async def test_progress_is_edited_in_place_and_a_final_report_is_queued(
    tg: TelegramHarness, runtime: Runtime, fake_api: FakeBotApi
) -> None:
    await _population(runtime)
    await _librarian(tg)
    await tg.send(LIBRARIAN, "/siaran")
    await tg.send(LIBRARIAN, "Jam buka berubah mulai bulan depan.")
    await tg.tap(LIBRARIAN, "bc:a:all")
    await tg.tap(LIBRARIAN, "bc:now")
    await tg.tap(LIBRARIAN, "bc:ok")
    rows = await outbox_rows(runtime)
    ids = [int(str(r["id"])) for r in rows]
    await set_outbox_status(runtime, ids[:2], "sent")
    await set_outbox_status(runtime, ids[2:3], "failed")

    fake_api.clear()
    await tg.tap(LIBRARIAN, "bc:v:1")
    edits = [c for c in fake_api.calls if c.method == "editMessageText"]
    assert len(edits) == 1 and not fake_api.sent(LIBRARIAN)
    assert "Terkirim 2 · gagal 1 · sisa 1 · dibatalkan 0 (dari 4)" in edits[0].text
    assert "#1 · sedang dikirim" in edits[0].text

    await set_outbox_status(runtime, ids[3:], "sent")
    fake_api.clear()
    await tg.tap(LIBRARIAN, "bc:v:1")
    edit = [c for c in fake_api.calls if c.method == "editMessageText"][0]
    assert "#1 · selesai" in edit.text and "sisa 0" in edit.text
    assert "bc:c:1" not in [p for _, p in edit.buttons]  # nothing left to cancel
    reports = await outbox_rows(runtime, "broadcast-report:")
    assert len(reports) == 1 and reports[0]["recipient"] == str(LIBRARIAN)
    assert json.loads(str(reports[0]["params"]))["sent"] == 3


async def test_topic_followers_and_stopped_residents(tg: TelegramHarness, runtime: Runtime) -> None:
    await tg.onboard(8301, regency="ende")
    await tg.onboard(8302, regency="alor")
    await tg.onboard(8303, regency="ende")
    calls = await tg.send(8301, "/langganan")
    assert "tp:weaving" in payloads(calls)
    await tg.tap(8301, "tp:weaving")
    await tg.tap(8302, "tp:weaving")
    await tg.tap(8303, "tp:weaving")
    await tg.tap(8303, "tp:weaving")  # a second tap unfollows
    edits = [c for c in tg.api.calls if c.method == "editMessageText" and c.chat_id == "8301"]
    assert edits and ("✅ Tenun ikat", "tp:weaving") in edits[-1].buttons

    await _librarian(tg)
    await tg.send(LIBRARIAN, "/siaran")
    await tg.send(LIBRARIAN, "Kelas tenun ikat dibuka lagi.")
    calls = await tg.tap(LIBRARIAN, "bc:a:ts")
    assert "bc:a:t:weaving" in payloads(calls)
    calls = await tg.tap(LIBRARIAN, "bc:a:t:weaving")
    assert "Jumlah penerima: 1" in texts(calls)  # Ende followers only, not Alor's
    assert "peminat topik Tenun ikat di Ende" in texts(calls)
    await tg.tap(LIBRARIAN, "bc:later")
    when = (utcnow() + timedelta(days=2)).astimezone(WITA).strftime("%d-%m-%Y 10.00")
    await tg.send(LIBRARIAN, when)
    await tg.tap(LIBRARIAN, "bc:ok")
    assert [r["status"] for r in await outbox_rows(runtime)] == ["pending"]
    # Stopping announcements cancels the one already queued for later.
    await tg.send(8301, "/berhenti")
    assert [r["status"] for r in await outbox_rows(runtime)] == ["cancelled"]
    # Deleting one's data (consent withdrawn) drops the topic subscriptions too.
    follower = await runtime.storage.residents.find(channel="telegram", external_id="8302")
    assert follower is not None
    assert await runtime.storage.staff.topics_of(resident_id=follower.id) == {"weaving"}
    await tg.send(8302, "/hapusdata")
    await tg.tap(8302, "del:yes")
    assert await runtime.storage.staff.topics_of(resident_id=follower.id) == set()


async def test_photo_announcement_preview_is_a_photo(tg: TelegramHarness, runtime: Runtime) -> None:
    await _population(runtime)
    await _librarian(tg)
    await tg.send(LIBRARIAN, "/siaran")
    photo = [{"file_id": "AgACphoto", "file_unique_id": "u1", "width": 640, "height": 480}]
    calls = await tg.send_raw(LIBRARIAN, {"photo": photo})
    assert "Foto disimpan" in texts(calls)
    await tg.send_raw(LIBRARIAN, {"photo": photo, "caption": "Lomba mewarnai untuk anak-anak."})
    calls = await tg.tap(LIBRARIAN, "bc:a:all")
    shown = [c for c in calls if c.method == "sendPhoto"]
    assert len(shown) == 1 and shown[0].params["photo"] == "AgACphoto"
    assert "Lomba mewarnai" in shown[0].text
    await tg.tap(LIBRARIAN, "bc:now")
    await tg.tap(LIBRARIAN, "bc:ok")
    rows = await outbox_rows(runtime)
    assert {json.loads(str(r["body"]))["photo"] for r in rows} == {"AgACphoto"}
    # Outside the flow a photo still gets the "text only" answer.
    calls = await tg.send_raw(LIBRARIAN, {"photo": photo})
    assert "hanya bisa membaca pesan teks" in texts(calls)


async def test_wrong_inputs_in_the_flow(tg: TelegramHarness, runtime: Runtime) -> None:
    await _population(runtime)
    await _librarian(tg)
    await tg.send(LIBRARIAN, "/siaran")
    assert "terlalu pendek" in texts(await tg.send(LIBRARIAN, "hai"))
    assert "paling banyak 900" in texts(await tg.send(LIBRARIAN, "x" * 950))
    assert "terlalu panjang" in texts(await tg.send(LIBRARIAN, "x" * 1200))
    await tg.send(LIBRARIAN, "Teks yang cukup panjang.")
    assert "kedaluwarsa" in texts(await tg.tap(LIBRARIAN, "bc:a:t:nosuch"))
    await tg.send(LIBRARIAN, "/siaran")
    await tg.send(LIBRARIAN, "Teks yang cukup panjang.")
    assert "kedaluwarsa" in texts(await tg.tap(LIBRARIAN, "bc:ok"))  # not confirmed yet
    await tg.send(LIBRARIAN, "/siaran")
    await tg.send(LIBRARIAN, "Teks yang cukup panjang.")
    calls = await tg.tap(LIBRARIAN, "bc:a:all")
    assert ("👥 Ganti penerima", "bc:aud") in buttons(calls)
    calls = await tg.tap(LIBRARIAN, "bc:x")
    assert "tidak ada yang dikirim" in texts(calls)
    assert await outbox_rows(runtime) == []
    # Someone else's announcement is not theirs to see.
    await tg.send(ADMIN, "/siaran")
    await tg.send(ADMIN, "Pengumuman dari provinsi untuk semua.")
    await tg.tap(ADMIN, "bc:a:all")
    await tg.tap(ADMIN, "bc:now")
    await tg.tap(ADMIN, "bc:ok")
    assert "kedaluwarsa" in texts(await tg.tap(LIBRARIAN, "bc:v:1"))
    assert "kedaluwarsa" in texts(await tg.tap(LIBRARIAN, "bc:cy:1"))
    assert "belum membuat pengumuman" in texts(await tg.send(LIBRARIAN, "/siaranku"))


async def test_english_flow_and_empty_audience(tg: TelegramHarness, runtime: Runtime) -> None:
    await resident(runtime, ADMIN, "kota-kupang", language="en")
    await tg.send(ADMIN, "/broadcast", "en")
    await tg.send(ADMIN, "Libraries closed on the public holiday.", "en")
    calls = await tg.tap(ADMIN, "bc:a:r:sabu-raijua", "en")
    assert "Nobody would receive that yet" in texts(calls)
    assert "bc:a:all" in payloads(calls)


async def test_delivery_worker_sends_it_and_the_progress_message_is_edited(
    tg: TelegramHarness, runtime: Runtime, fake_api: FakeBotApi
) -> None:
    """The real outbox worker delivers the announcement (photo included); the progress job
    sends one progress message, then edits it; the final report reaches the author."""
    people = await _population(runtime)
    await _librarian(tg)
    await tg.send(LIBRARIAN, "/siaran")
    photo = [{"file_id": "AgACphoto", "file_unique_id": "u1", "width": 640, "height": 480}]
    await tg.send_raw(LIBRARIAN, {"photo": photo, "caption": "Pameran buku minggu ini."})
    await tg.tap(LIBRARIAN, "bc:a:all")
    await tg.tap(LIBRARIAN, "bc:now")
    await tg.tap(LIBRARIAN, "bc:ok")
    fake_api.clear()

    progress = BroadcastProgress(
        runtime.storage, runtime.translator, {"telegram": TelegramSender(tg.app.bot)}
    )
    assert await progress.run() == 1
    first = fake_api.sent(LIBRARIAN)
    assert len(first) == 1 and "sisa 4" in first[0].text
    assert await progress.run() == 0  # nothing changed: no edit

    worker = DeliveryWorker(
        runtime.storage,
        runtime.translator,
        {"telegram": TelegramSender(tg.app.bot)},
        {"telegram": ChannelLimiter(Limits(overall_rate=1000, chat_rate=1000, chat_burst=10))},
    )
    await worker.start()
    try:
        worker.wake()
        for _ in range(500):  # bounded wait for the worker, not a timing assertion
            if (await runtime.storage.broadcasts.progress(broadcast_id=1)).remaining == 0:
                break
            await asyncio.sleep(0.01)
        assert await progress.run() == 1
        edits = [c for c in fake_api.calls if c.method == "editMessageText"]
        assert len(edits) == 1 and "#1 · selesai" in edits[0].text
        assert "Terkirim 4 · gagal 0 · sisa 0" in edits[0].text
        worker.wake()
        for _ in range(500):
            if any("selesai: terkirim 4" in c.text for c in fake_api.sent(LIBRARIAN)):
                break
            await asyncio.sleep(0.01)
    finally:
        await worker.stop()
    photos = [c for c in fake_api.calls if c.method == "sendPhoto"]
    resident_chats = {
        str(r.external_id)
        for r in [await runtime.storage.residents.get(resident_id=i) for i in people["ende"]]
    }
    assert {c.chat_id for c in photos} == resident_chats
    assert all(c.params["photo"] == "AgACphoto" for c in photos)
    assert any("selesai: terkirim 4" in c.text for c in fake_api.sent(LIBRARIAN))


async def test_event_registrants_and_waitlist_audiences(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    """Counts shown equal the rows queued; registrants who stopped announcements still hear
    about their event; a coordinator of another regency cannot reach it."""
    now = utcnow()
    event_id = await runtime.storage.staff_events.create(
        NewEvent(
            library_id=await library_id(runtime, "perpus-ende"),
            title="Kelas Kelor",
            category="food",
            description="",
            place=None,
            starts_at=now + timedelta(days=4),
            ends_at=now + timedelta(days=4, hours=2),
            capacity=3,
            registration_closes_at=None,
            questions=(),
            status="open",
        ),
        actor="test",
        role="admin",
        now=now,
    )
    people = []
    for user in range(8800, 8805):  # 3 seats (one holder stopped announcements), 2 waitlisted
        person = await resident(runtime, user, "ende", announcements_off=user == 8801)
        people.append(person.id)
        await runtime.storage.registrations.register(
            event_id=event_id, resident_id=person.id, name=f"Warga {user}", now=now
        )
    # Their proxy registration lands on the waitlist: they hear about both lists, once each.
    await runtime.storage.registrations.register(
        event_id=event_id, resident_id=people[0], name="Nenek", proxy=True, now=now
    )
    await _librarian(tg)
    await tg.send(LIBRARIAN, "/siaran")
    await tg.send(LIBRARIAN, "Bawa wadah sendiri untuk hasil olahan.")
    calls = await tg.tap(LIBRARIAN, "bc:a:es:0")
    assert f"bc:a:e:{event_id}" in payloads(calls)
    calls = await tg.tap(LIBRARIAN, f"bc:a:e:{event_id}")
    assert "Jumlah penerima: 3" in texts(calls) and 'pendaftar acara "Kelas Kelor"' in texts(calls)
    assert calls[1].text.startswith("📢 Perpustakaan Daerah Kabupaten Ende · Kelas Kelor")
    await tg.tap(LIBRARIAN, "bc:now")
    await tg.tap(LIBRARIAN, "bc:ok")
    rows = await outbox_rows(runtime)
    assert sorted(int(str(r["resident_id"])) for r in rows) == sorted(people[:3])
    assert {r["kind"] for r in rows} == {"event_message"}
    assert {r["event_id"] for r in rows} == {event_id}

    await tg.send(LIBRARIAN, "/siaran")
    await tg.send(LIBRARIAN, "Masih ada peluang kursi kosong.")
    calls = await tg.tap(LIBRARIAN, f"bc:a:w:{event_id}")
    assert "Jumlah penerima: 3" in texts(calls)
    await tg.tap(LIBRARIAN, "bc:now")
    await tg.tap(LIBRARIAN, "bc:ok")
    waitlist = await outbox_rows(runtime, "broadcast:2:")
    assert sorted(int(str(r["resident_id"])) for r in waitlist) == sorted([people[0], *people[3:]])

    await tg.send(ADMIN, "/beriperan 7209 koordinator alor")
    await tg.send(7209, "/siaran")
    await tg.send(7209, "Pengumuman dari Alor untuk semua.")
    assert "kedaluwarsa" in texts(await tg.tap(7209, f"bc:a:e:{event_id}"))
    assert len(await outbox_rows(runtime)) == 6


async def test_queueing_in_chunks_and_an_interrupted_draft(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storage level: chunks of 2 residents queue every recipient exactly once; a draft left by
    a process that died while queueing is cancelled with its rows."""
    people = await _population(runtime)
    monkeypatch.setattr(broadcasts_module, "QUEUE_CHUNK", 2)
    body = json.dumps({"text": "x", "choices": []})
    made = await runtime.storage.broadcasts.create(
        author="telegram:1",
        author_role="admin",
        author_channel="telegram",
        author_recipient="1",
        author_language="id",
        text="Pengumuman",
        photo=None,
        audience=Audience("all"),
        due_at=utcnow(),
        bodies={"id": body},
        now=utcnow(),
    )
    rows = await outbox_rows(runtime)
    assert made.recipients == len(rows) == len(people["ende"]) + len(people["alor"])
    assert made.status == "running"

    async with runtime.storage.db.transaction() as conn:  # as a crash mid-queueing leaves it
        await conn.execute("UPDATE broadcasts SET status = 'draft' WHERE id = ?", (made.id,))
    await runtime.storage.broadcasts.refresh(now=utcnow() + timedelta(minutes=5))
    assert (await runtime.storage.broadcasts.get(broadcast_id=made.id)).status == "draft"
    await runtime.storage.broadcasts.refresh(now=utcnow() + timedelta(minutes=30))
    assert (await runtime.storage.broadcasts.get(broadcast_id=made.id)).status == "cancelled"
    assert {r["status"] for r in await outbox_rows(runtime)} == {"cancelled"}


async def test_without_sms_configured_the_confirmation_is_unchanged_and_sms_residents_skipped(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    """A resident who once started by SMS (SMS since turned off) is not queued; the question is
    the same two buttons as ever, and "ya" typed answers it."""
    people = await _population(runtime)
    by_sms = await runtime.storage.residents.ensure(
        channel="sms", external_id="+6285233330009", language="id", now=utcnow()
    )
    await runtime.storage.residents.give_consent(resident_id=by_sms.id, now=utcnow())
    await runtime.storage.residents.set_regency(
        resident_id=by_sms.id, regency_code="ende", now=utcnow()
    )
    await _librarian(tg)
    await tg.send(LIBRARIAN, "/siaran")
    await tg.send(LIBRARIAN, "Besok ada pelatihan komputer gratis di perpustakaan.")
    assert "Jumlah penerima: 4" in texts(await tg.tap(LIBRARIAN, "bc:a:all"))
    calls = await tg.tap(LIBRARIAN, "bc:now")
    assert texts(calls) == "Kirim sekarang kepada 4 penerima?"
    assert payloads(calls) == ["bc:ok", "bc:x"]
    assert "sedang dikirim kepada 4 penerima" in texts(await tg.send(LIBRARIAN, "ya"))
    rows = await outbox_rows(runtime)
    assert sorted(int(str(r["resident_id"])) for r in rows) == sorted(people["ende"])
