"""Resident flows that go the same way on Telegram and WhatsApp, as plain functions over either
test harness (`tg` or `wa`); each channel's test file calls them and keeps its own extra checks.

`user` is whom the harness speaks for: a Telegram user id or a WhatsApp phone (wa_id). Where a
function takes `**client`, those go to its `send`/`tap` calls: the Telegram tests pass the client
language their users write with (`language="en"`); WhatsApp messages carry none, so its tests pass
nothing. Keyword only: a third positional argument is a language to one harness's `tap` and a
button title to the other's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bot.runtime import Runtime
from storage.checkin_codes import assign_checkin_codes
from storage.clock import to_db, utcnow
from storage.models import Resident

# Both harnesses' texts/payloads only read `.text` and `.buttons`, which Telegram's recorded calls
# and WhatsApp's sent messages both have.
from tests.telegram_harness import payloads, texts

FindResident = Callable[[], Awaitable[Resident | None]]


# --- Onboarding ------------------------------------------------------------------------------


async def declining_consent_still_lets_people_browse(
    harness: Any, user: Any, find_resident: FindResident
) -> list[Any]:
    """No consent: people browse, nothing is stored until /privasi; returns /datasaya's replies."""
    await harness.send(user, "/start")
    await harness.tap(user, "lang:id")
    replies = await harness.tap(user, "consent:no")
    assert "tidak menyimpan profil" in texts(replies)
    assert await find_resident() is None

    replies = await harness.tap(user, "libs:0")
    assert "Perpustakaan terdekat" in texts(replies)
    replies = await harness.send(user, "/acara")
    assert "di seluruh NTT" in texts(replies)
    my_data = await harness.send(user, "/datasaya")
    assert "tidak menyimpan profil" in texts(my_data)
    # A regency button from the skipped step cannot store anything.
    replies = await harness.tap(user, "home:ende")
    assert "kedaluwarsa" in texts(replies)
    assert await find_resident() is None
    # Agreeing later through /privasi works.
    replies = await harness.send(user, "/privasi")
    assert payloads(replies) == ["consent:yes", "consent:no"]
    await harness.tap(user, "consent:yes")
    resident = await find_resident()
    assert resident is not None and resident.has_consent
    return my_data


async def typing_the_number_or_words_of_a_choice_picks_it(harness: Any, user: Any) -> None:
    """Typed "2", "i agree" and "Ende" answer the language, consent and regency questions."""
    await harness.send(user, "/start")
    replies = await harness.send(user, "2")  # 2 = English
    assert "Privacy notice" in texts(replies)
    replies = await harness.send(user, "i agree")
    assert "Which regency" in texts(replies)
    replies = await harness.send(user, "Ende")
    assert "Your area: Ende." in texts(replies)


# --- Browsing --------------------------------------------------------------------------------


async def open_library(harness: Any, user: Any, payload: str) -> None:
    """Tapping a library shows its address, opening hours, services and the sample-data note."""
    text = texts(await harness.tap(user, payload))
    assert "Alamat:" in text and "Jam buka:" in text and "Layanan:" in text
    assert "Contoh data" in text


async def events_list_and_details_in_both_languages(
    harness: Any, user: Any, runtime: Runtime, **client: str
) -> str:
    """An event listed and opened in English, then in Indonesian; returns the English details."""
    await harness.onboard(user, language="en", regency="kota-kupang")
    replies = await harness.send(user, "/events", **client)
    assert "Events in the next 30 days" in texts(replies)
    event_payload = next(p for p in payloads(replies) if p.startswith("ev:"))
    replies = await harness.tap(user, event_payload, **client)
    event = await runtime.storage.events.get(event_id=int(event_payload[3:]))
    details = texts(replies)
    assert event.title in details
    assert " at " in details and "WITA" in details

    await harness.send(user, "/bahasa", **client)
    await harness.tap(user, "lang:id")
    replies = await harness.tap(user, event_payload)
    assert " pukul " in texts(replies) and "WITA" in texts(replies)
    return details


async def add_bulk_events(runtime: Runtime, count: int) -> None:
    """Test setup only: `count` computer classes an hour apart from two days on, overlong texts."""
    start = utcnow() + timedelta(days=2)
    async with runtime.storage.db.transaction() as conn:
        for n in range(count):
            begins = start + timedelta(hours=n)
            await conn.execute(
                "INSERT INTO events (slug, library_id, title, category, description, starts_at,"
                " ends_at, capacity) VALUES (?, 1, ?, 'computer', ?, ?, ?, 20)",
                (
                    f"bulk-{n}",
                    f"Kelas komputer {n} " + "x" * 80,
                    "d" * 900,
                    to_db(begins),
                    to_db(begins + timedelta(hours=2)),
                ),
            )
        await assign_checkin_codes(conn)  # as every writer of events does


async def category_filter(harness: Any, user: Any) -> None:
    """The category picker offers weaving, and picking it lists the weaving class."""
    await harness.onboard(user)
    replies = await harness.tap(user, "evc:*:30")
    assert "evs:*:weaving:30:0" in payloads(replies)
    replies = await harness.tap(user, "evs:*:weaving:30:0")
    assert "Tenun ikat" in texts(replies)


async def stale_or_meaningless_buttons_get_the_expired_answer(harness: Any, user: Any) -> None:
    """Each stale, malformed or out-of-step button gets "expired" and a way back to the menu."""
    await harness.onboard(user)
    for payload in [
        "ev:999999",
        "lib:abc",
        "zzz:1",
        "evs:*:*:30:999",
        "evs:nowhere:*:30:0",
        "consent:yes",
        "lang:fr",
        "del:yes",
        "evs:broken",
    ]:
        replies = await harness.tap(user, payload)
        assert "kedaluwarsa" in texts(replies), payload
        assert "menu" in payloads(replies) or "libs:0" in payloads(replies)


async def free_text_never_meets_silence(harness: Any, user: Any, cases: dict[str, str]) -> None:
    """Someone in Sikka types each phrase of `cases`, in order, and gets its expected words back."""
    await harness.onboard(user, regency="sikka")
    for said, expected in cases.items():
        replies = await harness.send(user, said)
        assert replies and expected in texts(replies), (said, texts(replies))


async def unknown_command_and_oversized_text(harness: Any, user: Any, **client: str) -> None:
    """An unknown command and a message over the length limit each get an explanation."""
    await harness.onboard(user, language="en")
    replies = await harness.send(user, "/frobnicate", **client)
    assert "don't know that command" in texts(replies)
    replies = await harness.send(user, "x" * 1500, **client)
    assert "too long" in texts(replies)


# --- Privacy ---------------------------------------------------------------------------------


async def declining_deletion_keeps_my_data(harness: Any, user: Any, **client: str) -> None:
    """/deletemydata asks for confirmation first, and answering no deletes nothing."""
    replies = await harness.send(user, "/deletemydata", **client)
    assert payloads(replies) == ["del:yes", "del:no"]
    replies = await harness.tap(user, "del:no", **client)
    assert "not deleted" in texts(replies)


async def deleting_my_data_after_confirmation(
    harness: Any, user: Any, find_resident: FindResident, **client: str
) -> Resident:
    """/hapusdata then yes erases the profile, once only; returns the resident as left after it."""
    await harness.send(user, "/hapusdata", **client)
    replies = await harness.tap(user, "del:yes", **client)
    assert "has been deleted" in texts(replies)
    resident = await find_resident()
    assert resident is not None and not resident.has_consent
    assert resident.regency_code is None
    # The confirmation button cannot be replayed.
    replies = await harness.tap(user, "del:yes", **client)
    assert "expired" in texts(replies)
    return resident


async def stop_and_resume_announcements(
    harness: Any, user: Any, find_resident: FindResident
) -> list[Any]:
    """/berhenti turns announcements off, its button turns them on; returns /berhenti's replies."""
    await harness.onboard(user)
    stopped = await harness.send(user, "/berhenti")
    assert "tidak akan menerima pengumuman" in texts(stopped)
    assert (await find_resident()).announcements_off
    await harness.tap(user, "ann:on")
    assert not (await find_resident()).announcements_off
    return stopped


async def cancel_leaves_any_flow(harness: Any, user: Any) -> None:
    """/batal ends the deletion question, whose yes button is then stale."""
    await harness.onboard(user)
    await harness.send(user, "/hapusdata")
    replies = await harness.send(user, "/batal")
    assert "dibatalkan" in texts(replies)
    replies = await harness.tap(user, "del:yes")
    assert "kedaluwarsa" in texts(replies)
