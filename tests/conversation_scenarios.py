"""How people in NTT answer the bot's questions by typing, as scenarios over either harness
(Telegram or WhatsApp): every step takes the answer loosely or asks again, keeping what was
answered. Each channel's test file runs them all (tests/test_conversation_*.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.runtime import Runtime
from storage.clock import to_db, utcnow
from tests.registration_scenarios import COMPUTER, event_id, set_event
from tests.telegram_harness import payloads, texts


async def typed_onboarding_in_kupang_malay(harness: Any, user: Any, find: Any) -> None:
    """ "indonesia", "iya", then "kupang" (which one?) and "kab kupang"."""
    await harness.send(user, "/start")
    replies = await harness.send(user, "indonesia")
    assert "Pemberitahuan privasi" in texts(replies)
    replies = await harness.send(user, "iya")
    assert "kabupaten/kota mana" in texts(replies)
    replies = await harness.send(user, "kupang")
    assert "yang mana" in texts(replies)
    assert payloads(replies) == ["home:kota-kupang", "home:kupang"]
    replies = await harness.send(user, "kab kupang")
    assert "Wilayah Anda: Kupang." in texts(replies)
    assert (await find()).regency_code == "kupang"


async def setuju_and_an_abbreviation(harness: Any, user: Any, find: Any) -> None:
    """ "setuju" agrees, "TTS" is Timor Tengah Selatan, "kupang" then "1" the city."""
    await harness.send(user, "/start")
    await harness.send(user, "Bahasa Indonesia")
    await harness.send(user, "setuju")
    replies = await harness.send(user, "TTS")
    assert "Wilayah Anda: Timor Tengah Selatan." in texts(replies)
    await harness.send(user, "/privasi")  # has a profile: no question, nothing changes
    assert (await find()).regency_code == "tts"


async def a_step_never_dies(harness: Any, user: Any) -> None:
    """Answers that fit nothing ("12345", "hmm") re-ask the same question with its choices; the
    language question, then the privacy question, then the regency question. "①" is a 1."""
    await harness.send(user, "/start")
    for said in ("12345", "hmm", "0"):
        replies = await harness.send(user, said)
        assert "belum saya kenali" in texts(replies), said
        assert payloads(replies) == ["lang:id", "lang:en"]
    replies = await harness.send(user, "①")
    assert "Pemberitahuan privasi" in texts(replies)
    replies = await harness.send(user, "hmm gimana ya")
    assert 'Jawab "ya" atau "tidak"' in texts(replies)
    assert payloads(replies) == ["consent:yes", "consent:no"]
    await harness.send(user, "boleh kak")
    replies = await harness.send(user, "kabupaten entah")
    assert "wilayah itu belum saya kenali" in texts(replies)
    replies = await harness.send(user, "mabar")
    assert "Wilayah Anda: Manggarai Barat." in texts(replies)


async def registration_typed_all_the_way(
    harness: Any, runtime: Runtime, user: Any, find_registration: Any
) -> None:
    """A one-letter name, "12345" at the gender question, "cewek", "40", a village, then "ya" at
    the check screen: every answer kept, registered with female / 36_55."""
    event = await event_id(runtime, COMPUTER)
    await harness.onboard(user)
    await harness.tap(user, f"reg:{event}")
    replies = await harness.send(user, "A")
    assert "paling sedikit 2 huruf" in texts(replies)
    await harness.send(user, "Maria Bria")
    replies = await harness.send(user, "12345")
    assert "perempuan" in texts(replies) and "rq:female" in payloads(replies)
    replies = await harness.send(user, "cewek")
    assert "Kelompok usia" in texts(replies)
    replies = await harness.send(user, "40")
    assert "Desa/kelurahan" in texts(replies)
    replies = await harness.send(user, "Oesapa")
    assert "Periksa pendaftaran" in texts(replies) and "Maria Bria" in texts(replies)
    assert "36–55 tahun" in texts(replies) and "Perempuan" in texts(replies)
    replies = await harness.send(user, "ya")
    assert "Anda terdaftar" in texts(replies)
    registration = await find_registration(event)
    assert (registration.gender, registration.age_band, registration.village) == (
        "female",
        "36_55",
        "Oesapa",
    )
    # "ya" at "Batalkan pendaftaran …?" cancels.
    replies = await harness.tap(user, f"rc?:{registration.id}")
    assert "Batalkan pendaftaran" in texts(replies)
    replies = await harness.send(user, "ya")
    assert "sudah dibatalkan" in texts(replies)


async def hyphen_age_and_laki(harness: Any, runtime: Runtime, user: Any) -> None:
    """ "laki" picks male and "18-35" (a hyphen, the label has an en dash) the band."""
    event = await event_id(runtime, COMPUTER)
    await harness.onboard(user)
    await harness.tap(user, f"reg:{event}")
    await harness.send(user, "Yohanes Lado")
    await harness.send(user, "laki")
    replies = await harness.send(user, "18-35")
    assert "Desa/kelurahan" in texts(replies)
    replies = await harness.send(user, "lewati")
    assert "Laki-laki" in texts(replies) and "18–35 tahun" in texts(replies)


async def a_half_finished_registration_is_offered_again(
    harness: Any, runtime: Runtime, user: Any
) -> None:
    """Left for another screen after two answers; the main menu offers it back, and it goes on
    at the question it was left at, with the answers kept."""
    event = await event_id(runtime, COMPUTER)
    await harness.onboard(user)
    await harness.tap(user, f"reg:{event}")
    await harness.send(user, "Maria Bria")
    await harness.send(user, "perempuan")
    await harness.send(user, "/acara")  # a command leaves the flow...
    replies = await harness.send(user, "/menu")  # ...and the menu offers it back
    assert "belum selesai" in texts(replies) and "resume" in payloads(replies)
    replies = await harness.send(user, "iya")
    assert "Kelompok usia" in texts(replies)
    await harness.send(user, "55-an")  # not an age: asked again
    await harness.send(user, "60")
    replies = await harness.send(user, "-")
    assert "Maria Bria" in texts(replies) and "Perempuan" in texts(replies)
    assert "Di atas 55 tahun" in texts(replies)
    # /batal forgets it: no offer afterwards.
    await harness.send(user, "/batal")
    replies = await harness.send(user, "/menu")
    assert "belum selesai" not in texts(replies)


async def full_event_says_waiting_list(harness: Any, runtime: Runtime, user: Any) -> None:
    event = await event_id(runtime, COMPUTER)
    await set_event(runtime, event, capacity=1, seats_taken=1)
    await harness.onboard(user)
    replies = await harness.tap(user, f"ev:{event}")
    labels = [label for reply in replies for label, _ in reply.buttons]
    assert "⏳ Masuk daftar tunggu" in labels and "📝 Daftar" not in labels


async def resident_screens_do_what_people_expect(harness: Any, runtime: Runtime, user: Any) -> None:
    """A kader registers herself and two neighbours: "Acara saya" names whose seat each cancel
    button frees; /hapusdata lists all three before asking; a waiting-list neighbour who is
    marked present counts as registered; an attended registration cannot be cancelled."""
    from tests.registration_scenarios import register_and_confirm, register_someone_else

    event = await event_id(runtime, COMPUTER)
    await harness.onboard(user)
    await register_and_confirm(harness, user, event, "Mama Yuliana")
    await register_someone_else(harness, user, event, "Nenek Sofia")
    taken = (await runtime.storage.events.get(event_id=event)).seats_taken
    await set_event(runtime, event, capacity=taken)  # full: Bapa Frans waits
    replies = await register_someone_else(harness, user, event, "Bapa Frans")
    assert "daftar tunggu" in texts(replies)
    replies = await harness.send(user, "/acarasaya")
    labels = [label for reply in replies for label, _ in reply.buttons]
    assert any("Nenek Sofia" in label for label in labels), labels
    assert any("Bapa Frans" in label for label in labels), labels
    replies = await harness.send(user, "/hapusdata")
    text = texts(replies)
    assert "akan dibatalkan" in text
    assert all(name in text for name in ("Mama Yuliana", "Nenek Sofia", "Bapa Frans"))
    replies = await harness.send(user, "tidak")
    assert "tidak dihapus" in texts(replies)
    # The class begins in half an hour: check-in is open.
    soon = utcnow() + timedelta(minutes=30)
    await set_event(runtime, event, starts_at=to_db(soon), ends_at=to_db(soon + timedelta(hours=2)))
    code = await runtime.storage.registrations.checkin_code(event_id=event)
    replies = await harness.send(user, code)
    assert "Kehadiran Anda tercatat" in texts(replies)
    frans = next(p for r in replies for label, p in r.buttons if "Bapa Frans" in label)
    await harness.tap(user, frans)
    mine = await runtime.storage.registrations.upcoming(
        resident_id=(await _resident_of(runtime, harness, user)).id, now=utcnow()
    )
    statuses = {r.name: r.status for r in mine}
    assert statuses["Bapa Frans"] == "confirmed"  # from the waiting list, not a walk-in
    replies = await harness.send(user, "/acarasaya")
    assert "sudah hadir" in texts(replies)
    own = next(r for r in mine if r.name == "Mama Yuliana")
    assert f"rc?:{own.id}" not in payloads(replies)
    replies = await harness.tap(user, f"rc?:{own.id}")
    assert "tidak bisa dibatalkan" in texts(replies)


async def _resident_of(runtime: Runtime, harness: Any, user: Any) -> Any:
    for channel, external in (("telegram", str(user)), ("whatsapp", "+" + str(user))):
        found = await runtime.storage.residents.find(channel=channel, external_id=external)
        if found is not None:
            return found
    raise AssertionError(user)


async def every_screen_fits_a_cheap_phone(harness: Any, runtime: Runtime, user: Any) -> None:
    """On the sample data, no resident-facing message is over 1,000 characters, event lists show
    at most 5 events a page, and lists say the data is a sample."""
    await harness.send(user, "/start")
    seen = list(await harness.tap(user, "lang:id"))
    await harness.tap(user, "consent:yes")
    seen += await harness.tap(user, "home:kota-kupang")
    for command in ("/menu", "/layanan", "/acara", "/bantuan", "/privasi", "/datasaya",
                    "/acarasaya", "/pengingat", "/langganan", "/hapusdata", "/batal"):  # fmt: skip
        seen += await harness.send(user, command)
    libraries = await harness.tap(user, "libs:0")
    events = await harness.tap(user, "evs:*:*:30:0")
    assert "Contoh data" in texts(libraries) and "Contoh data" in texts(events)
    seen += libraries + events
    for page in range(1, 6):
        seen += await harness.tap(user, f"evs:*:*:30:{page}")
        seen += await harness.tap(user, f"libs:{page}")
    rows = await runtime.storage.db.fetchall("SELECT id FROM events")
    for row in rows:
        seen += await harness.tap(user, f"ev:{row[0]}")
    for said in ("jam buka", "acara minggu ini", "kupang", "tenun", "kelor", "halo", "asdf"):
        seen += await harness.send(user, said)
    too_long = [r.text[:60] for r in seen if len(r.text) > 1000]
    assert not too_long, too_long
    for reply in seen:
        assert sum(1 for _, p in reply.buttons if p.startswith("ev:")) <= 5
