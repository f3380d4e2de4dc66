"""Every step that waits for an answer, resident's and staff's, re-asks on an answer that does
not fit and keeps what was answered so far (handlers/steps.py), through the real
python-telegram-bot Application."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.runtime import Runtime
from storage.clock import utcnow
from tests.registration_scenarios import COMPUTER, event_id
from tests.staff_support import ADMIN, outbox_rows, resident
from tests.staff_support import settings as settings  # noqa: F401 - fixture with an admin
from tests.telegram_harness import TelegramHarness, payloads, texts


def _local(days: int, fmt: str) -> str:
    return (utcnow() + timedelta(days=days)).astimezone(ZoneInfo("Asia/Makassar")).strftime(fmt)


def _t(runtime: Runtime, key: str, **values: object) -> str:
    return runtime.translator.text("id", key, **values)


async def test_cancel_confirmation_asks_again(tg: TelegramHarness, runtime: Runtime) -> None:
    """ "12345" or "hmm" at "Batalkan pendaftaran …?" asks again with both buttons; nothing is
    cancelled until "ya"."""
    user = 7601
    event = await event_id(runtime, COMPUTER)
    await tg.onboard(user)
    await tg.tap(user, f"reg:{event}")
    await tg.send(user, "Maria Bria")
    for said in ("perempuan", "40", "Oesapa", "ya"):
        await tg.send(user, said)
    resident = await runtime.storage.residents.find(channel="telegram", external_id=str(user))
    assert resident is not None
    (registration,) = await runtime.storage.registrations.for_resident(
        resident_id=resident.id, event_id=event
    )
    asked = await tg.tap(user, f"rc?:{registration.id}")
    for said in ("12345", "hmm gimana"):
        replies = await tg.send(user, said)
        assert _t(runtime, "steps.hint_yes_no") in texts(replies), said
        assert asked[-1].text in texts(replies)
        assert payloads(replies) == payloads(asked) == [f"rc:{registration.id}", "my"]
    mine = await runtime.storage.registrations.get(registration_id=registration.id)
    assert mine.status != "cancelled"
    replies = await tg.send(user, "ya")
    cancelled = _t(runtime, "reg.cancelled", name="Maria Bria", title=registration.event_title)
    assert cancelled in texts(replies)
    assert (await runtime.storage.registrations.get(registration_id=registration.id)).status == (
        "cancelled"
    )
    # The flow is over: free text is free text again.
    replies = await tg.send(user, "hmm gimana")
    assert _t(runtime, "steps.hint_yes_no") not in texts(replies)


async def test_new_event_asks_again_and_keeps_the_title(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    """ "12345" at the category choice asks the category again; the title typed before is
    still there at the review and in the saved event. "12345" at the review shows it again."""
    librarian = 7602
    title = "Kelas Menganyam Daun Lontar"
    await tg.send(ADMIN, f"/beriperan {librarian} pustakawan perpus-ende")
    await tg.send(librarian, "/acarabaru")
    asked = await tg.send(librarian, title)
    replies = await tg.send(librarian, "12345")
    assert _t(runtime, "steps.hint_choice") in texts(replies)
    assert payloads(replies) == payloads(asked)
    assert "nev:c:computer" in payloads(replies)
    await tg.tap(librarian, "nev:c:computer")
    await tg.send(librarian, "-")
    await tg.send(librarian, "-")
    await tg.send(librarian, _local(10, "%d-%m-%Y 09.00-12.00"))
    await tg.send(librarian, "20")
    await tg.send(librarian, "-")
    await tg.tap(librarian, "nev:q:gender")
    review = await tg.tap(librarian, "nev:q:done")
    assert title in texts(review)
    replies = await tg.send(librarian, "12345")
    assert _t(runtime, "steps.hint_choice") in texts(replies)
    assert title in texts(replies) and "nev:save:open" in payloads(replies)
    await tg.tap(librarian, "nev:save:open")
    row = await runtime.storage.db.reader.fetchone(
        "SELECT category, capacity FROM events WHERE title = ?", (title,)
    )
    assert row is not None and tuple(row) == ("computer", 20)


async def test_broadcast_asks_again_and_keeps_the_text(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    """ "12345" at the audience question and at "send now or later" asks again with the same
    buttons; the text typed first is what is sent."""
    librarian = 7603
    message = "Besok ada dongeng anak di perpustakaan, jam sembilan pagi."
    await resident(runtime, 7604, "ende")
    await tg.send(ADMIN, f"/beriperan {librarian} pustakawan perpus-ende")
    await tg.send(librarian, "/siaran")
    asked = await tg.send(librarian, message)
    replies = await tg.send(librarian, "12345")
    assert _t(runtime, "staff.bc.ask_audience") in texts(replies)
    assert _t(runtime, "steps.hint_choice") in texts(replies)
    assert payloads(replies) == payloads(asked)
    preview = await tg.tap(librarian, "bc:a:all")
    replies = await tg.send(librarian, "12345")
    assert _t(runtime, "steps.hint_choice") in texts(replies)
    assert payloads(replies) == payloads(preview)
    await tg.tap(librarian, "bc:now")
    replies = await tg.send(librarian, "hmm")
    assert _t(runtime, "steps.hint_choice") in texts(replies)
    assert payloads(replies) == ["bc:ok", "bc:x"]
    await tg.tap(librarian, "bc:ok")
    rows = await outbox_rows(runtime)
    assert rows and message in json.loads(str(rows[0]["body"]))["text"]


async def test_grant_and_revoke_ask_again_and_keep_the_person(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    """ "12345" at the role buttons and "hmm" at the regency buttons ask again; the person named
    first is the one granted. At the revoke confirmation "entahlah" asks again, "tidak" keeps."""
    person = "7605"
    asked = await tg.send(ADMIN, f"/beriperan {person}")
    replies = await tg.send(ADMIN, "12345")
    assert _t(runtime, "steps.hint_choice") in texts(replies)
    assert payloads(replies) == payloads(asked)
    regencies = await tg.tap(ADMIN, "srg:r:coordinator")
    replies = await tg.send(ADMIN, "hmm")
    assert _t(runtime, "steps.hint_choice") in texts(replies)
    assert payloads(replies) == payloads(regencies)
    await tg.tap(ADMIN, "srg:s:ende")
    held = await runtime.storage.staff.roles_of(channel="telegram", external_id=person)
    assert [(r.role, r.regency) for r in held] == [("coordinator", "ende")]

    confirm = await tg.send(ADMIN, f"/cabutperan {person}")
    replies = await tg.send(ADMIN, "entahlah")
    assert payloads(replies) == payloads(confirm)
    assert await runtime.storage.staff.roles_of(channel="telegram", external_id=person)
    await tg.send(ADMIN, "tidak")
    assert await runtime.storage.staff.roles_of(channel="telegram", external_id=person)


async def test_event_edits_ask_again_and_keep_the_change(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    """ "12345" at the questions' toggles asks again with them; at "move the event?" it asks
    again with the new place still there, and the confirmed place is the one typed."""
    librarian = 7606
    title = "Dongeng Sore di Taman Baca"
    await tg.send(ADMIN, f"/beriperan {librarian} pustakawan perpus-ende")
    await tg.send(librarian, "/acarabaru")
    await tg.send(librarian, title)
    await tg.tap(librarian, "nev:c:computer")
    for said in ("-", "-", _local(12, "%d-%m-%Y 15.00-17.00"), "30", "-"):
        await tg.send(librarian, said)
    await tg.tap(librarian, "nev:q:done")
    await tg.tap(librarian, "nev:save:open")
    row = await runtime.storage.db.reader.fetchone(
        "SELECT id FROM events WHERE title = ?", (title,)
    )
    assert row is not None
    event = int(row[0])

    toggles = await tg.tap(librarian, f"sev:ed:{event}:questions")
    replies = await tg.send(librarian, "12345")
    assert _t(runtime, "steps.hint_choice") in texts(replies)
    assert payloads(replies) == payloads(toggles)
    await tg.tap(librarian, f"sev:q:{event}:village")
    await tg.tap(librarian, f"sev:q:{event}:done")
    assert (await runtime.storage.events.get(event_id=event)).questions == ("village",)

    await tg.tap(librarian, f"sev:ed:{event}:place")
    place = "Aula Desa Wolotopo"
    asked = await tg.send(librarian, place)
    replies = await tg.send(librarian, "12345")
    assert place in texts(replies) and payloads(replies) == payloads(asked)
    await tg.tap(librarian, f"sev:cy:{event}")
    assert (await runtime.storage.events.get(event_id=event)).place == place
