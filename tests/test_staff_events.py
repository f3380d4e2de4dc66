"""Librarians' events from chat: the guided create flow with every wrong input, editing,
registration open/close, finishing and cancelling with a message, and scope."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.runtime import Runtime
from storage.clock import utcnow
from storage.registrations import Answers
from tests.staff_support import ADMIN, library_id, outbox_rows, resident
from tests.staff_support import settings as settings  # noqa: F401 - fixture with an admin
from tests.telegram_harness import TelegramHarness, payloads, texts

LIBRARIAN = 7302
COORDINATOR = 7303
WITA = ZoneInfo("Asia/Makassar")


def _local(days: int, fmt: str) -> str:
    return (utcnow() + timedelta(days=days)).astimezone(WITA).strftime(fmt)


async def _create(tg: TelegramHarness, user: int, title: str, *, save: str = "open") -> None:
    await tg.send(user, "/acarabaru")
    await tg.send(user, title)
    await tg.tap(user, "nev:c:computer")
    await tg.send(user, "-")
    await tg.send(user, "-")
    await tg.send(user, _local(10, "%d-%m-%Y 09.00-12.00"))
    await tg.send(user, "2")
    await tg.send(user, "-")
    await tg.tap(user, "nev:q:gender")
    await tg.tap(user, "nev:q:done")
    await tg.tap(user, f"nev:save:{save}")


async def _event_id(runtime: Runtime, title: str) -> int:
    row = await runtime.storage.db.reader.fetchone(
        "SELECT id FROM events WHERE title = ?", (title,)
    )
    assert row is not None
    return int(row[0])


async def test_guided_create_checks_every_answer(tg: TelegramHarness, runtime: Runtime) -> None:
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    calls = await tg.send(LIBRARIAN, "/acarabaru")
    assert "Perpustakaan Daerah Kabupaten Ende" in texts(calls)
    assert "5–120 karakter" in texts(await tg.send(LIBRARIAN, "abc"))
    calls = await tg.send(LIBRARIAN, "Kelas Komputer Dasar untuk Ibu-ibu")
    assert "nev:c:computer" in payloads(calls)
    assert "kedaluwarsa" in texts(await tg.tap(LIBRARIAN, "nev:c:nosuch"))
    await tg.send(LIBRARIAN, "/acarabaru")  # start again after the expired answer
    await tg.send(LIBRARIAN, "Kelas Komputer Dasar untuk Ibu-ibu")
    await tg.tap(LIBRARIAN, "nev:c:computer")
    assert "0–600" in texts(await tg.send(LIBRARIAN, "x" * 700))
    await tg.send(LIBRARIAN, "Belajar mengetik dan memakai surel.")
    await tg.send(LIBRARIAN, "Ruang komputer lantai 2")
    assert "tidak bisa membaca" in texts(await tg.send(LIBRARIAN, "besok pagi"))
    past = _local(-2, "%d-%m-%Y 09.00-12.00")
    assert "sudah lewat" in texts(await tg.send(LIBRARIAN, past))
    backwards = _local(5, "%d-%m-%Y 12.00-09.00")
    assert "setelah jam mulai" in texts(await tg.send(LIBRARIAN, backwards))
    await tg.send(LIBRARIAN, _local(5, "%d-%m-%Y 09.00-12.00"))
    assert "1–5000" in texts(await tg.send(LIBRARIAN, "0"))
    assert "1–5000" in texts(await tg.send(LIBRARIAN, "dua puluh"))
    await tg.send(LIBRARIAN, "20")
    late = _local(6, "%d-%m-%Y 17.00")
    assert "sebelum acara mulai" in texts(await tg.send(LIBRARIAN, late))
    calls = await tg.send(LIBRARIAN, _local(4, "%d-%m-%Y 17.00"))
    assert "nev:q:gender" in payloads(calls)
    await tg.tap(LIBRARIAN, "nev:q:gender")
    await tg.tap(LIBRARIAN, "nev:q:village")
    calls = await tg.tap(LIBRARIAN, "nev:q:village")  # a second tap removes it
    assert ("✅ Jenis kelamin", "nev:q:gender") in [b for c in calls for b in c.buttons]
    calls = await tg.tap(LIBRARIAN, "nev:q:done")
    assert "20 kursi" in texts(calls) and "Ruang komputer lantai 2" in texts(calls)
    calls = await tg.tap(LIBRARIAN, "nev:save:open")
    assert "pendaftaran dibuka" in texts(calls) and "Kode hadir:" in texts(calls)

    event = await runtime.storage.events.get(
        event_id=await _event_id(runtime, "Kelas Komputer Dasar untuk Ibu-ibu")
    )
    assert event.library_id == await library_id(runtime, "perpus-ende")
    assert (event.capacity, event.status, event.questions) == (20, "open", ("gender",))
    assert event.registration_closes_at is not None
    assert event.starts_at.astimezone(WITA).hour == 9
    # A resident finds it in the listings.
    await tg.onboard(8401, regency="ende")
    assert "Kelas Komputer Dasar" in texts(await tg.send(8401, "/acara"))


async def test_admins_and_coordinators_create_for_a_library_in_scope(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await tg.send(ADMIN, f"/beriperan {COORDINATOR} koordinator ende")
    calls = await tg.send(COORDINATOR, "/acarabaru")
    assert "untuk perpustakaan mana" in texts(calls)
    ende = await library_id(runtime, "perpus-ende")
    alor = await library_id(runtime, "perpus-alor")
    assert f"nev:lib:{ende}" in payloads(calls) and f"nev:lib:{alor}" not in payloads(calls)
    # Another regency's library is out of reach however the button is made.
    assert "kedaluwarsa" in texts(await tg.tap(COORDINATOR, f"nev:lib:{alor}"))
    await tg.send(COORDINATOR, "/acarabaru")
    calls = await tg.tap(COORDINATOR, f"nev:lib:{ende}")
    assert "Perpustakaan Daerah Kabupaten Ende" in texts(calls)
    await tg.send(COORDINATOR, "Judul yang cukup panjang")
    assert "dibatalkan" in texts(await tg.send(COORDINATOR, "/batal"))
    assert "kedaluwarsa" in texts(await tg.tap(COORDINATOR, "nev:c:computer"))
    # The admin picks the regency first, then the library.
    calls = await tg.send(ADMIN, "/acarabaru")
    assert "nev:lr:alor" in payloads(calls)
    calls = await tg.tap(ADMIN, "nev:lr:alor")
    assert f"nev:lib:{alor}" in payloads(calls)
    await tg.tap(ADMIN, f"nev:lib:{alor}")
    await tg.send(ADMIN, "Pelatihan Pemasaran Digital")
    await tg.tap(ADMIN, "nev:c:computer")
    await tg.send(ADMIN, "-")
    await tg.send(ADMIN, "-")
    await tg.send(ADMIN, _local(10, "%d-%m-%Y 09.00-12.00"))
    calls = await tg.send(ADMIN, "-")  # no seat limit, typed
    assert "Batas akhir pendaftaran" in texts(calls)
    # A deadline at the very start leaves nobody time to come.
    assert "sebelum acara mulai" in texts(await tg.send(ADMIN, _local(10, "%d-%m-%Y 09.00")))
    await tg.send(ADMIN, "-")
    calls = await tg.tap(ADMIN, "nev:q:done")
    assert "tanpa batas" in texts(calls) and "nev:fix:title" in payloads(calls)
    # Fixing one field returns to the review with the rest kept.
    await tg.tap(ADMIN, "nev:fix:title")
    calls = await tg.send(ADMIN, "Pelatihan Pemasaran Digital UMKM")
    assert "Pelatihan Pemasaran Digital UMKM" in texts(calls) and "nev:save:open" in payloads(calls)
    await tg.tap(ADMIN, "nev:save:open")
    event = await runtime.storage.events.get(
        event_id=await _event_id(runtime, "Pelatihan Pemasaran Digital UMKM")
    )
    assert (event.library_id, event.capacity, event.status) == (alor, None, "open")
    # The Ende coordinator manages Ende's events, not this Alor one.
    calls = await tg.send(COORDINATOR, "/kelolaacara")
    assert f"sev:e:{event.id}" not in payloads(calls)
    for payload in (f"sev:e:{event.id}", f"sev:x:{event.id}", f"sev:ed:{event.id}:time"):
        assert "kedaluwarsa" in texts(await tg.tap(COORDINATOR, payload)), payload
    ende_events, _ = await runtime.storage.staff_events.in_scope(
        now=utcnow(), library_id=await library_id(runtime, "perpus-ende")
    )
    calls = await tg.tap(COORDINATOR, f"sev:e:{ende_events[0].id}")
    assert f"sev:x:{ende_events[0].id}" in payloads(calls)


async def test_raising_the_capacity_seats_the_waitlist_in_arrival_order(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    await _create(tg, LIBRARIAN, "Kelas Tenun Ikat")  # 2 seats
    event_id = await _event_id(runtime, "Kelas Tenun Ikat")
    registered = []
    for user in (8601, 8602, 8603, 8604, 8605):
        person = await resident(runtime, user, "ende")
        registered.append(
            await runtime.storage.registrations.register(
                event_id=event_id, resident_id=person.id, name=f"Warga {user}", now=utcnow()
            )
        )
    assert [r.status for r in registered] == ["confirmed"] * 2 + ["waitlisted"] * 3

    await tg.tap(LIBRARIAN, f"sev:ed:{event_id}:capacity")
    calls = await tg.send(LIBRARIAN, "4")
    assert "2 orang dari daftar tunggu mendapat kursi" in texts(calls)
    assert "4/4 kursi terisi" in texts(calls)
    now = [await runtime.storage.registrations.get(registration_id=r.id) for r in registered]
    assert [r.status for r in now] == ["confirmed"] * 4 + ["waitlisted"]
    told = await outbox_rows(runtime, "promotion:")
    assert sorted(row["dedupe_key"] for row in told) == sorted(
        f"promotion:{r.id}" for r in registered[2:4]
    )
    # Saving the same capacity again promotes nobody and says nothing about the waitlist.
    await tg.tap(LIBRARIAN, f"sev:ed:{event_id}:capacity")
    assert "daftar tunggu" not in texts(await tg.send(LIBRARIAN, "4"))


async def test_manage_edit_open_close_and_scope(tg: TelegramHarness, runtime: Runtime) -> None:
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    await _create(tg, LIBRARIAN, "Pelatihan Jualan Online", save="draft")
    event_id = await _event_id(runtime, "Pelatihan Jualan Online")
    calls = await tg.send(LIBRARIAN, "/kelolaacara")
    assert f"sev:e:{event_id}" in payloads(calls)
    calls = await tg.tap(LIBRARIAN, f"sev:e:{event_id}")
    assert "Status: draf" in texts(calls) and f"sev:o:{event_id}" in payloads(calls)
    calls = await tg.tap(LIBRARIAN, f"sev:o:{event_id}")
    assert "Status: dibuka" in texts(calls)
    calls = await tg.tap(LIBRARIAN, f"sev:c:{event_id}")  # asks first
    assert "Tutup pendaftaran" in texts(calls) and f"sev:cc:{event_id}" in payloads(calls)
    assert (await runtime.storage.events.get(event_id=event_id)).status == "open"
    calls = await tg.tap(LIBRARIAN, f"sev:cc:{event_id}")
    assert "Status: ditutup" in texts(calls)
    entries, _ = await runtime.storage.staff.audit_entries()
    assert any(e.action == "event.close" for e in entries)
    await tg.tap(LIBRARIAN, f"sev:o:{event_id}")

    # Two registrations, then the capacity cannot drop below them.
    for user in (8501, 8502):
        person = await resident(runtime, user, "ende")
        await runtime.storage.registrations.register(
            event_id=event_id, resident_id=person.id, name=f"Warga {user}", now=utcnow()
        )
    calls = await tg.tap(LIBRARIAN, f"sev:ed:{event_id}:capacity")
    assert "Kapasitas sekarang: 2 kursi" in texts(calls)
    assert "Sudah 2 kursi terisi" in texts(await tg.send(LIBRARIAN, "1"))
    calls = await tg.send(LIBRARIAN, "30")
    assert "2/30 kursi terisi" in texts(calls)
    await tg.tap(LIBRARIAN, f"sev:ed:{event_id}:place")
    assert "1–120 karakter" in texts(await tg.send(LIBRARIAN, "x" * 130))
    calls = await tg.send(LIBRARIAN, "Aula Kantor Desa")
    assert "Lama: Ruang" not in texts(calls)  # the place was the library's own
    assert "Lama: Perpustakaan Daerah Kabupaten Ende\nBaru: Aula Kantor Desa" in texts(calls)
    assert "2 pendaftar akan diberi tahu" in texts(calls)
    assert "Aula Kantor Desa" in texts(await tg.tap(LIBRARIAN, f"sev:cy:{event_id}"))
    assert len(await outbox_rows(runtime, f"event_moved:{event_id}")) == 2
    await tg.tap(LIBRARIAN, f"sev:ed:{event_id}:deadline")
    assert "tidak bisa membaca" in texts(await tg.send(LIBRARIAN, "minggu depan"))
    late = _local(11, "%d-%m-%Y 17.00")  # after the event starts
    assert "sebelum acara mulai" in texts(await tg.send(LIBRARIAN, late))
    calls = await tg.send(LIBRARIAN, _local(8, "%d-%m-%Y 17.00"))
    assert "Disimpan" in texts(calls) and "Batas daftar: -" not in texts(calls)
    await tg.tap(LIBRARIAN, f"sev:ed:{event_id}:deadline")
    assert "Batas daftar: -" in texts(await tg.send(LIBRARIAN, "-"))
    await tg.tap(LIBRARIAN, f"sev:ed:{event_id}:time")
    assert "tidak bisa membaca" in texts(await tg.send(LIBRARIAN, "12-12-2026"))
    await tg.send(LIBRARIAN, "/batal")
    assert "kedaluwarsa" in texts(await tg.tap(LIBRARIAN, f"sev:ed:{event_id}:nosuch"))
    await tg.tap(LIBRARIAN, f"sev:ed:{event_id}:questions")
    await tg.tap(LIBRARIAN, f"sev:q:{event_id}:age_band")
    calls = await tg.tap(LIBRARIAN, f"sev:q:{event_id}:done")
    assert "Jenis kelamin, Kelompok usia" in texts(calls)
    # A new time is shown old -> new; "sonde" leaves it; confirmed, it tells both registrants.
    calls = await tg.tap(LIBRARIAN, f"sev:ed:{event_id}:time")
    assert "Sekarang: " in texts(calls)
    calls = await tg.send(LIBRARIAN, _local(12, "%d-%m-%Y 13.00-15.00"))
    assert "Lama: " in texts(calls) and "13.00 WITA" in texts(calls)
    assert "Tidak ada yang diubah" in texts(await tg.send(LIBRARIAN, "sonde"))
    assert not await outbox_rows(runtime, f"event_changed:{event_id}")
    await tg.tap(LIBRARIAN, f"sev:ed:{event_id}:time")
    await tg.send(LIBRARIAN, _local(12, "%d-%m-%Y 13.00-15.00"))
    calls = await tg.tap(LIBRARIAN, f"sev:cy:{event_id}")
    assert "2 pendaftar diberi tahu" in texts(calls)
    assert len(await outbox_rows(runtime, f"event_changed:{event_id}")) == 2

    # An Alor event is out of this librarian's reach, however the button is made.
    alor = await runtime.storage.staff_events.in_scope(
        now=utcnow(), library_id=await library_id(runtime, "perpus-alor")
    )
    alor_id = alor[0][0].id
    for payload in (f"sev:e:{alor_id}", f"sev:c:{alor_id}", f"sev:x:{alor_id}"):
        assert "kedaluwarsa" in texts(await tg.tap(LIBRARIAN, payload))
    assert (await runtime.storage.events.get(event_id=alor_id)).status != "cancelled"


async def _registered(runtime: Runtime, event_id: int, users: tuple[int, ...]) -> list[int]:
    ids = []
    for user in users:
        person = await resident(runtime, user, "ende", announcements_off=user == 8603)
        ids.append(person.id)
        await runtime.storage.registrations.register(
            event_id=event_id,
            resident_id=person.id,
            name=f"Warga {user}",
            answers=Answers(gender="female"),
            now=utcnow(),
        )
    return ids


async def test_a_no_word_never_cancels_the_event(tg: TelegramHarness, runtime: Runtime) -> None:
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    await _create(tg, LIBRARIAN, "Kelas Merajut Anak")
    event_id = await _event_id(runtime, "Kelas Merajut Anak")
    await _registered(runtime, event_id, (8601,))
    # "tidak" typed where the old flow took it as the cancellation note.
    for word in ("tidak", "sonde", "jangan", "batal", "no"):
        await tg.tap(LIBRARIAN, f"sev:x:{event_id}")
        await tg.tap(LIBRARIAN, f"sev:xm:{event_id}")
        calls = await tg.send(LIBRARIAN, word)
        assert "tidak dibatalkan" in texts(calls), word
        assert (await runtime.storage.events.get(event_id=event_id)).status == "open"
    # At the last question too, and anything else only asks again.
    await tg.tap(LIBRARIAN, f"sev:x:{event_id}")
    await tg.tap(LIBRARIAN, f"sev:xn:{event_id}")
    calls = await tg.send(LIBRARIAN, "hmm")
    assert 'ketuk "Ya, batalkan acara"' in texts(calls)
    assert "tidak dibatalkan" in texts(await tg.send(LIBRARIAN, "tidak jadi"))
    assert (await runtime.storage.events.get(event_id=event_id)).status == "open"
    assert not await outbox_rows(runtime, f"event_cancelled:{event_id}")
    # The same in English.
    calls = await tg.tap(LIBRARIAN, f"sev:x:{event_id}", "en")
    assert 'Cancel "Kelas Merajut Anak"? 1 registrants will be told' in texts(calls)
    await tg.tap(LIBRARIAN, f"sev:xn:{event_id}", "en")
    assert "is not cancelled" in texts(await tg.send(LIBRARIAN, "nope", "en"))
    # The confirmation button of an old message does nothing once the step is gone.
    assert "kedaluwarsa" in texts(await tg.tap(LIBRARIAN, f"sev:xy:{event_id}"))
    assert (await runtime.storage.events.get(event_id=event_id)).status == "open"


async def test_cancel_with_a_message_to_registrants(tg: TelegramHarness, runtime: Runtime) -> None:
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    await _create(tg, LIBRARIAN, "Kelas Bahasa Inggris Wisata")
    event_id = await _event_id(runtime, "Kelas Bahasa Inggris Wisata")
    # Two seats, one waitlisted; 8603 stopped announcements.
    people = await _registered(runtime, event_id, (8601, 8602, 8603))
    calls = await tg.tap(LIBRARIAN, f"sev:x:{event_id}")
    assert "3 pendaftar akan diberi tahu" in texts(calls)
    assert {f"sev:xm:{event_id}", f"sev:xn:{event_id}", f"sev:k:{event_id}"} <= set(payloads(calls))
    await tg.tap(LIBRARIAN, f"sev:xm:{event_id}")
    assert "5–500 karakter" in texts(await tg.send(LIBRARIAN, "maaf"))
    calls = await tg.send(LIBRARIAN, "Pengajar tidak bisa datang; kelas diganti bulan depan.")
    # The note is shown as registrants will read it ("tidak" inside a sentence is no "no"),
    # and nothing has happened yet.
    assert "«Pengajar tidak bisa datang; kelas diganti bulan depan.»" in texts(calls)
    assert ("❌ Ya, batalkan acara", f"sev:xy:{event_id}") in [b for c in calls for b in c.buttons]
    assert (await runtime.storage.events.get(event_id=event_id)).status == "open"
    calls = await tg.send(LIBRARIAN, "Ya, batalkan acara")  # the button's words, typed
    assert "dibatalkan; 3 pendaftar diberi tahu" in texts(calls)
    assert (await runtime.storage.events.get(event_id=event_id)).status == "cancelled"
    assert len(await outbox_rows(runtime, f"event_cancelled:{event_id}")) == 3
    notes = await outbox_rows(runtime, "broadcast:")
    # The note goes to the two with a seat, the one who stopped announcements included.
    assert sorted(int(str(r["resident_id"])) for r in notes) == sorted(people[:2])
    assert {r["kind"] for r in notes} == {"event_message"}
    assert "kedaluwarsa" in texts(await tg.tap(LIBRARIAN, f"sev:xy:{event_id}"))
    calls = await tg.tap(LIBRARIAN, f"sev:e:{event_id}")
    assert "Status: dibatalkan" in texts(calls) and f"sev:x:{event_id}" not in payloads(calls)
    entries, _ = await runtime.storage.staff.audit_entries()
    assert any(e.action == "event.cancel" and "Pengajar tidak bisa" in e.detail for e in entries)


async def test_a_cancelled_event_is_restored_with_seats_and_waitlist_order(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    await _create(tg, LIBRARIAN, "Kelas Anyaman Lontar")  # 2 seats
    event_id = await _event_id(runtime, "Kelas Anyaman Lontar")
    await _registered(runtime, event_id, (8601, 8602, 8604, 8605))
    before = await runtime.storage.staff_events.all_people(event_id=event_id)
    await tg.tap(LIBRARIAN, f"sev:x:{event_id}")
    await tg.tap(LIBRARIAN, f"sev:xn:{event_id}")
    calls = await tg.tap(LIBRARIAN, f"sev:xy:{event_id}")
    assert f"sev:r:{event_id}" in payloads(calls)
    calls = await tg.tap(LIBRARIAN, f"sev:r:{event_id}")
    assert "2 kursi terdaftar dan 2 daftar tunggu" in texts(calls)
    calls = await tg.tap(LIBRARIAN, f"sev:ry:{event_id}")
    assert "dipulihkan; 4 pendaftar diberi tahu" in texts(calls)
    assert "Status: dibuka" in texts(calls)
    after = await runtime.storage.staff_events.all_people(event_id=event_id)
    assert [(p.name, p.status) for p in after] == [(p.name, p.status) for p in before]
    assert [p.status for p in after] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert len(await outbox_rows(runtime, f"event_restored:{event_id}")) == 4
    event = await runtime.storage.events.get(event_id=event_id)
    assert (event.status, event.seats_taken) == ("open", 2)
    # Cancelled again after the restore: the registrants hear it again.
    await tg.tap(LIBRARIAN, f"sev:x:{event_id}")
    await tg.tap(LIBRARIAN, f"sev:xn:{event_id}")
    await tg.tap(LIBRARIAN, f"sev:xy:{event_id}")
    assert len(await outbox_rows(runtime, f"event_cancelled:{event_id}")) == 8
    # A seat given up while the event is off goes to the first on the waiting list once it is
    # back (a cancelled event gives nobody a seat).
    first = next(p for p in after if p.status == "confirmed")
    seat_holder = await runtime.storage.registrations.get(registration_id=first.registration_id)
    assert seat_holder.resident_id is not None
    await runtime.storage.registrations.cancel(
        registration_id=first.registration_id, resident_id=seat_holder.resident_id, now=utcnow()
    )
    waiting = [p.name for p in await runtime.storage.staff_events.all_people(event_id=event_id)]
    await tg.tap(LIBRARIAN, f"sev:ry:{event_id}")
    now_listed = await runtime.storage.staff_events.all_people(event_id=event_id)
    assert [(p.name, p.status) for p in now_listed] == [
        (waiting[0], "confirmed"),
        (waiting[1], "confirmed"),
        (waiting[2], "waitlisted"),
    ]
    assert await outbox_rows(runtime, "promotion:")
    # Once the event has started it cannot come back.
    for step in ("x", "xn", "xy"):
        await tg.tap(LIBRARIAN, f"sev:{step}:{event_id}")
    async with runtime.storage.db.transaction() as conn:
        await conn.execute(
            "UPDATE events SET starts_at = ?, ends_at = ? WHERE id = ?",
            ("2020-01-01T01:00:00Z", "2020-01-01T03:00:00Z", event_id),
        )
    calls = await tg.tap(LIBRARIAN, f"sev:e:{event_id}")
    assert f"sev:r:{event_id}" not in payloads(calls)
    assert "tidak bisa dipulihkan" in texts(await tg.tap(LIBRARIAN, f"sev:ry:{event_id}"))
    entries, _ = await runtime.storage.staff.audit_entries()
    assert any(e.action == "event.restore" for e in entries)


async def test_finish_only_after_the_start(tg: TelegramHarness, runtime: Runtime) -> None:
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    await _create(tg, LIBRARIAN, "Lomba Dongeng Anak")
    event_id = await _event_id(runtime, "Lomba Dongeng Anak")
    calls = await tg.tap(LIBRARIAN, f"sev:e:{event_id}")
    assert f"sev:f:{event_id}" not in payloads(calls)
    assert "kedaluwarsa" in texts(await tg.tap(LIBRARIAN, f"sev:f:{event_id}"))
    async with runtime.storage.db.transaction() as conn:  # the event has begun
        await conn.execute(
            "UPDATE events SET starts_at = ?, ends_at = ? WHERE id = ?",
            ("2020-01-01T01:00:00Z", "2020-01-01T03:00:00Z", event_id),
        )
    calls = await tg.tap(LIBRARIAN, f"sev:f:{event_id}")
    assert "Status: selesai" in texts(calls)
    entries, _ = await runtime.storage.staff.audit_entries()
    assert any(e.action == "event.finish" and e.target == f"event:{event_id}" for e in entries)


async def test_an_event_made_in_the_chat_gives_a_calendar_file_named_after_it(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    """It was `staff-28abc51225f3.ics`: the random slug of a chat-made event."""
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    await _create(tg, LIBRARIAN, "Kelas Tenun Ikat Sumba")
    event_id = await _event_id(runtime, "Kelas Tenun Ikat Sumba")
    person = await resident(runtime, 8606, "ende")
    registration = await runtime.storage.registrations.register(
        event_id=event_id, resident_id=person.id, name="Ama Kewa", now=utcnow()
    )
    calls = await tg.tap(8606, f"ics:{registration.id}")
    day = _local(10, "%Y-%m-%d")
    assert calls[0].params["document"]["filename"] == f"kelas-tenun-ikat-sumba-{day}.ics"
