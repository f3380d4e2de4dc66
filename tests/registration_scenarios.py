"""Registration scenario steps shared by the Telegram and WhatsApp tests: the sample events they
use, test-only setup of an event, the outbox rows a flow leaves, the first registration (name, two
answers by button, a typed village), and the scenarios whose logic is the same on both channels,
driven through any harness with `onboard`/`send`/`tap`. What only one channel shows (buttons,
lists, uploads) is checked in that channel's test file, on the replies these functions return."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

from bot.notifications import Rendered, render
from bot.runtime import Runtime
from storage.clock import to_db, utcnow

# Both harnesses' texts/payloads only read `.text` and `.buttons`, which Telegram's recorded calls
# and WhatsApp's sent messages both have.
from tests.telegram_harness import payloads, texts

COMPUTER = "sampel-komputer-dasar-kupang-1"  # capacity 20, waitlist 10, asks all 3 questions
KELOR = "sampel-olahan-kelor-oelamasi"  # asks all 3 questions too


class Harness(Protocol):
    """What the Telegram and WhatsApp test harnesses have in common."""

    async def send(self, user: Any, text: str, /) -> list[Any]: ...

    async def tap(self, user: Any, payload: str, /) -> list[Any]: ...

    async def onboard(self, user: Any, /, *, language: str = ..., regency: str = ...) -> None: ...


# The id of the registration a user (as the harness names them) made for themself for an event:
# each channel stores its users under its own external ids.
OwnRegistration = Callable[[Any, int], Awaitable[int]]


async def event_id(runtime: Runtime, slug: str) -> int:
    rows = await runtime.storage.db.reader.fetchall("SELECT id FROM events WHERE slug = ?", (slug,))
    return int(rows[0][0])


async def set_event(runtime: Runtime, event: int, **values: object) -> None:
    """Test setup only: shape an event (seats, times) the way a librarian would."""
    assignments = ", ".join(f"{column} = ?" for column in values)
    async with runtime.storage.db.transaction() as conn:
        await conn.execute(
            f"UPDATE events SET {assignments} WHERE id = ?", (*values.values(), event)
        )


async def resident_id(runtime: Runtime, user: object, channel: str = "telegram") -> int:
    found = await runtime.storage.residents.find(channel=channel, external_id=str(user))
    assert found is not None
    return found.id


async def own_registration(
    runtime: Runtime, user: object, event: int, channel: str = "telegram"
) -> int:
    """The id of the registration `user` made for themself (not for someone else)."""
    mine = await runtime.storage.registrations.for_resident(
        resident_id=await resident_id(runtime, user, channel), event_id=event
    )
    return next(r.id for r in mine if not r.is_proxy)


async def register_first_time(harness: Harness, user: object, event: int, name: str) -> None:
    """Up to the summary: name typed, gender and age band tapped, village typed."""
    await harness.tap(user, f"reg:{event}")
    await harness.send(user, name)
    await harness.tap(user, "rq:female")
    await harness.tap(user, "rq:18_35")
    await harness.send(user, "Oesapa")


async def register_and_confirm(harness: Harness, user: object, event: int, name: str) -> list[Any]:
    """The first registration through to "Daftar sekarang"; returns the reply to that tap."""
    await register_first_time(harness, user, event, name)
    return await harness.tap(user, f"reg!:{event}")


async def register_someone_else(harness: Harness, user: object, event: int, name: str) -> list[Any]:
    """A registration for someone else, every question skipped; returns the reply to confirming."""
    await harness.tap(user, f"regp:{event}")
    await harness.send(user, name)
    for _ in range(3):
        await harness.tap(user, "rq:-")
    return await harness.tap(user, f"reg!:{event}")


async def outbox_rows(runtime: Runtime, kind: str) -> list[dict[str, object]]:
    rows = await runtime.storage.db.reader.fetchall(
        "SELECT dedupe_key, recipient, language, params FROM outbox WHERE kind = ? ORDER BY id",
        (kind,),
    )
    return [dict(r) for r in rows]


async def promotion_of_budi(
    runtime: Runtime, registration: int, recipient: str
) -> tuple[dict[str, object], Rendered]:
    """Checks the one promotion row (Budi's `registration`, to `recipient`); returns it rendered."""
    rows = await outbox_rows(runtime, "promotion")
    assert [r["dedupe_key"] for r in rows] == [f"promotion:{registration}"]
    assert rows[0]["recipient"] == recipient
    rendered = await render(
        "promotion",
        json.loads(str(rows[0]["params"])),
        str(rows[0]["language"]),
        runtime.translator,
        runtime.storage,
    )
    assert "Kabar baik" in rendered.text and "Budi" in rendered.text
    assert f"rc?:{registration}" in [c.payload for c in rendered.choices]
    return rows[0], rendered


async def refused_without_consent(harness: Harness, user: object, event: int) -> list[Any]:
    """Consent declined: registering and checking in ask for it; returns the reply to Daftar."""
    await harness.send(user, "/start")
    await harness.tap(user, "lang:id")
    await harness.tap(user, "consent:no")
    replies = await harness.tap(user, f"reg:{event}")
    assert "belum menyetujui" in texts(replies) and f"privacy:{event}" in payloads(replies)
    check_in = await harness.send(user, "/hadir ABCD")
    assert "belum menyetujui" in texts(check_in)
    return replies


async def agreeing_from_a_detour_returns_to_the_event(
    harness: Harness, user: object, event: int
) -> None:
    """Declined, then tapped Daftar: the privacy button, agreeing ("iya") and a regency lead
    back to that event's details with its Daftar button, not to the main menu."""
    await harness.send(user, "/start")
    await harness.tap(user, "lang:id")
    await harness.tap(user, "consent:no")
    await harness.tap(user, f"reg:{event}")
    replies = await harness.tap(user, f"privacy:{event}")
    assert "Pemberitahuan privasi" in texts(replies)
    await harness.send(user, "iya")
    replies = await harness.send(user, "ende")
    assert "Wilayah Anda: Ende." in texts(replies)
    assert f"reg:{event}" in payloads(replies) and "Menu utama" not in texts(replies)


async def closed_while_on_the_summary(
    harness: Harness, runtime: Runtime, user: object, event: int
) -> list[Any]:
    """Registration closed before "Daftar sekarang" is tapped; returns the reply to that tap."""
    await harness.onboard(user)
    await register_first_time(harness, user, event, "Ana")
    # The librarian closes registration while Ana looks at her summary.
    await runtime.storage.registrations.close_event(event_id=event)
    replies = await harness.tap(user, f"reg!:{event}")
    assert "pendaftaran untuk acara ini sudah ditutup" in texts(replies)
    return replies


async def leave_the_flow_at_every_step(harness: Harness, user: object, event: int) -> None:
    """/batal at each step of the first registration ends it, and its buttons then expire."""
    for steps in ([], ["Ana"], ["Ana", "rq:female"], ["Ana", "rq:female", "rq:u18"]):
        await harness.tap(user, f"reg:{event}")
        for step in steps:
            await (harness.tap(user, step) if step.startswith("rq:") else harness.send(user, step))
        replies = await harness.send(user, "/batal")
        assert "dibatalkan" in texts(replies), steps
        replies = await harness.tap(user, "rq:male")
        assert "kedaluwarsa" in texts(replies)


async def proxy_repeat_limit_and_own_seat(
    harness: Harness, runtime: Runtime, user: object, event: int
) -> list[Any]:
    """After Nenek Yuliana and Bapak Yosef (a limit of 2): a repeat, a third, then one's own seat;
    returns the reply to /acarasaya."""
    # The same person twice is recognised, not a third seat.
    replies = await register_someone_else(harness, user, event, "nenek yuliana")
    assert "sudah Anda daftarkan" in texts(replies)
    replies = await register_someone_else(harness, user, event, "Ibu Maria")
    assert "2 orang lain" in texts(replies)
    # Proxies do not stop the volunteer registering themself, and show in "Acara saya".
    await register_and_confirm(harness, user, event, "Ana Kader")
    replies = await harness.send(user, "/acarasaya")
    text = texts(replies)
    assert "Nenek Yuliana" in text and "Bapak Yosef" in text and "Ana Kader" in text
    assert len([p for p in payloads(replies) if p.startswith("rc?:")]) == 3
    assert (await runtime.storage.events.get(event_id=event)).seats_taken == 3
    return replies


async def check_in_too_early_then_an_unknown_code(
    harness: Harness, runtime: Runtime, user: object, event: int, code: str
) -> None:
    """A code before the window says when it opens; once the event is 30 minutes away, an unknown
    code is refused."""
    replies = await harness.send(user, f"/hadir {code}")
    assert "bisa dicatat dari" in texts(replies) and "WITA" in texts(replies)

    now = utcnow()
    await set_event(
        runtime,
        event,
        starts_at=to_db(now + timedelta(minutes=30)),
        ends_at=to_db(now + timedelta(hours=3)),
    )
    replies = await harness.send(user, "/hadir ZZZZ")
    assert "tidak dikenal" in texts(replies)


async def stale_and_foreign_buttons_get_clear_answers(
    harness: Harness, runtime: Runtime, ana: object, budi: object, own: OwnRegistration
) -> None:
    """Budi taps Ana's buttons and stale or made-up ones: each expires, none errs or cancels."""
    event = await event_id(runtime, COMPUTER)
    await harness.onboard(ana)
    await harness.onboard(budi)
    await register_and_confirm(harness, ana, event, "Ana")
    anas = await own(ana, event)
    for payload in (
        f"rc:{anas}",  # someone else's registration
        f"ics:{anas}",
        "rc?:999999",
        "ics:abc",
        "hdp:999999",
        "reg:999999",
        "reg!:999999",
        "rq:female",
        "regu",
        "regn",
        "rega",
        "reg:x",
    ):
        replies = await harness.tap(budi, payload)
        assert "kedaluwarsa" in texts(replies), payload
        assert "kesalahan" not in texts(replies), payload
    assert (await runtime.storage.registrations.get(registration_id=anas)).status == "confirmed"
