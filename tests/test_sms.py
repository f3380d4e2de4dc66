"""SMS as a channel: signed gateway webhooks in (the real aiohttp server), SMS out to a fake SMS
Gateway for Android on loopback, the kader's neighbour registered with an SMS number on
Telegram, the daily budget, duplicates and forged webhooks."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.channels.gsm7 import is_gsm7, segments, to_gsm7
from bot.channels.sms import CAPABILITIES, render
from bot.config import Secret, Settings
from bot.runtime import Runtime
from handlers.types import Choice, Reply
from storage.clock import to_db, utcnow
from storage.outbox import PRIORITY_PERSONAL, OutboxMessage
from tests.fakes.sms_gateway import FakeSmsGateway, received, signed_event
from tests.fakes.telegram_api import FakeBotApi
from tests.registration_scenarios import (
    COMPUTER,
    event_id,
    register_and_confirm,
    register_someone_else,
    set_event,
)
from tests.sms_support import Sms, deliver_sms, sms_settings
from tests.sms_support import gateway as gateway  # noqa: F401 - fixture
from tests.sms_support import sms as sms  # noqa: F401 - fixture
from tests.telegram_harness import TelegramHarness, buttons, payloads, texts

KADER = 4101
NEIGHBOUR = "+6281234567890"
WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture
def settings(fake_api: FakeBotApi, app_db: str, gateway: FakeSmsGateway) -> Settings:
    # Overrides conftest's: the same deployment with SMS configured.
    return Settings(
        telegram_token=Secret(fake_api.token),
        telegram_api_url=fake_api.url,
        db_path=app_db,
        sms=sms_settings(gateway),
    )


async def test_neighbour_registered_with_sms_number_gets_reminder_and_checks_in(
    runtime: Runtime, tg: TelegramHarness, sms: Sms, gateway: FakeSmsGateway
) -> None:
    t = runtime.translator
    event = await event_id(runtime, COMPUTER)
    await tg.onboard(KADER)
    # The kader registers Siti, who has a basic phone, and is offered an SMS number for her.
    confirmed = await register_someone_else(tg, KADER, event, "Siti")
    offer = next(p for p in payloads(confirmed) if p.startswith("smsn:"))
    assert (t.text("id", "sms.neighbour.offer", name="Siti"), offer) in buttons(confirmed)
    asked = await tg.tap(KADER, offer)
    assert t.text("id", "sms.neighbour.ask", name="Siti") in texts(asked)
    # A typo first: refused with the reason, and the step stays.
    wrong = await tg.send(KADER, "0812 34")
    assert t.text("id", "sms.number.bad_number", text="0812 34") in texts(wrong)
    consent = await tg.send(KADER, "0812 3456 7890")
    assert t.text("id", "sms.neighbour.consent", name="Siti", phone="0812-3456-7890") in texts(
        consent
    )
    saved = await tg.tap(KADER, "smsc:y")
    assert t.text("id", "sms.neighbour.saved", name="Siti", phone="0812-3456-7890") in texts(saved)
    rows = await runtime.storage.db.fetchall(
        "SELECT id, sms_phone, sms_consent_at FROM registrations WHERE event_id = ? "
        "AND is_proxy = 1",
        (event,),
    )
    registration = int(rows[0]["id"])
    assert rows[0]["sms_phone"] == NEIGHBOUR and rows[0]["sms_consent_at"] is not None

    # A day before the event: the 24-hour reminder is due (registered two days ago).
    now = utcnow()
    start = now + timedelta(hours=23)
    await set_event(
        runtime, event, starts_at=to_db(start), ends_at=to_db(start + timedelta(hours=3))
    )
    await runtime.storage.db.write(
        "UPDATE registrations SET created_at = ? WHERE event_id = ?",
        (to_db(now - timedelta(days=2)), event),
    )
    await runtime.storage.reminders.sync(default_offsets=(24 * 60, 2 * 60), now=now)
    assert await sms.channel.copy_now(now - timedelta(minutes=1)) >= 1
    key = f"reminder:{registration}:24h:sms"
    assert (await runtime.storage.outbox.status_of(dedupe_key=key)) is not None
    await deliver_sms(runtime, sms, done=1)
    assert (await runtime.storage.outbox.status_of(dedupe_key=key))[0] == "sent"  # type: ignore[index]
    [reminder] = gateway.to(NEIGHBOUR)
    assert reminder.startswith("Pustaka: Halo Siti, pengingat ")
    assert "HADIR" in reminder and len(reminder) <= 160  # one GSM-7 segment
    segments = await runtime.storage.db.fetchall(
        "SELECT kind, segments, status FROM sms_sent WHERE recipient = ?", (NEIGHBOUR,)
    )
    assert [tuple(r) for r in segments] == [("reminder", 1, "queued")]

    # At the venue, Siti texts HADIR and the code on the board.
    code = await runtime.storage.registrations.checkin_code(event_id=event)
    start = utcnow() + timedelta(minutes=30)
    await set_event(
        runtime, event, starts_at=to_db(start), ends_at=to_db(start + timedelta(hours=3))
    )
    assert await sms.text(NEIGHBOUR, f"hadir {code.lower()}") == 200
    answer = gateway.to(NEIGHBOUR)[-1]
    title = (await runtime.storage.events.get(event_id=event)).title
    assert answer == t.text("id", "sms.checkin_neighbour", name="Siti", title=title)
    checked = await runtime.storage.registrations.get(registration_id=registration)
    assert checked.attended_at is not None and checked.status == "confirmed"

    # The gateway's delivery report for the reminder is recorded against it.
    [(message_id,)] = await runtime.storage.db.fetchall(
        "SELECT message_id FROM sms_sent WHERE kind = 'reminder'"
    )
    report = {"messageId": message_id, "recipient": NEIGHBOUR, "deliveredAt": "2026-12-01"}
    assert await sms.post(*signed_event("sms:delivered", report)) == 200
    [(status,)] = await runtime.storage.db.fetchall(
        "SELECT status FROM sms_sent WHERE message_id = ?", (message_id,)
    )
    assert status == "delivered"


async def test_daily_budget_sends_reminders_first_and_defers_the_rest(
    runtime: Runtime, sms: Sms, gateway: FakeSmsGateway
) -> None:
    now = utcnow()
    local = now.astimezone(WITA)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), WITA)
    # A reminder due later today is counted before it is due: it keeps its place in the budget.
    reminder_due = min(now + timedelta(minutes=10), midnight - timedelta(minutes=1))
    budget = 3
    sms.channel.sms_sender.settings = sms_settings(gateway, daily_limit=budget)
    messages = [
        OutboxMessage(
            dedupe_key=f"promotion:{n}:sms",
            kind="promotion",
            channel="sms",
            recipient=f"+62812000000{n}",
            text=f"Pustaka: ada kursi untuk Anda ({n}).",
            priority=PRIORITY_PERSONAL,
        )
        for n in range(3)
    ]
    messages.append(
        OutboxMessage(
            dedupe_key="reminder:99:24h:sms",
            kind="reminder",
            channel="sms",
            recipient="+6281299999999",
            text="Pustaka: pengingat besok.",
            priority=PRIORITY_PERSONAL + 5,
            due_at=reminder_due,
        )
    )
    await runtime.storage.outbox.add_many(messages, now=utcnow())
    await deliver_sms(runtime, sms, done=3)
    statuses = {
        n: await runtime.storage.outbox.status_of(dedupe_key=f"promotion:{n}:sms") for n in range(3)
    }
    sent = [n for n, s in statuses.items() if s and s[0] == "sent"]
    waiting = [s for s in statuses.values() if s and s[0] == "pending"]
    # Two promotions go; the third would eat the reminder's segment, so it waits for tomorrow.
    assert len(sent) == 2 and len(waiting) == 1
    assert "budget" in (waiting[0][1] or "")
    assert waiting[0][2] >= midnight
    assert len(gateway.sent) == 2
    # When the reminder falls due it still has its segment.
    await runtime.storage.db.write(
        "UPDATE outbox SET due_at = ? WHERE dedupe_key = 'reminder:99:24h:sms'", (to_db(now),)
    )
    await deliver_sms(runtime, sms, done=4, sent="reminder:99:24h:sms")
    reminder = await runtime.storage.outbox.status_of(dedupe_key="reminder:99:24h:sms")
    assert reminder is not None and reminder[0] == "sent"
    assert gateway.to("+6281299999999") == ["Pustaka: pengingat besok."]
    day = await runtime.storage.sms.day(day=local.date().isoformat())
    assert day.segments == budget
    assert day.by_kind == {"promotion": (2, 2), "reminder": (1, 1)}


async def test_duplicate_webhooks_are_dropped(
    runtime: Runtime, sms: Sms, gateway: FakeSmsGateway
) -> None:
    phone = "+6285211112222"
    body, headers = signed_event("sms:received", received(phone, "ACARA"), event_id="evt-1")
    assert await sms.post(body, headers) == 200
    # The phone did not see our answer and sends the same event again, re-signed later.
    again, headers_again = signed_event(
        "sms:received",
        json.loads(body)["payload"],
        event_id="evt-1",
        timestamp=int(headers["X-Timestamp"]) + 30,
    )
    assert await sms.post(again, headers_again) == 200
    assert await sms.post(body, headers) == 200
    assert len(gateway.to(phone)) == 1
    listing = gateway.to(phone)[0]
    assert listing.splitlines()[-1] == runtime.translator.text("id", "sms.reply_hint")
    assert "\n1 " in listing  # choices numbered, like the terminal chat


async def test_bad_or_old_signature_is_refused(
    runtime: Runtime, sms: Sms, gateway: FakeSmsGateway
) -> None:
    phone = "+6285233334444"
    forged = signed_event("sms:received", received(phone, "ACARA"), secret="guessed")
    assert await sms.post(*forged) == 401
    body, headers = signed_event("sms:received", received(phone, "ACARA"))
    assert await sms.post(body, {**headers, "X-Signature": "0" * 64}) == 401
    assert await sms.post(body, {"Content-Type": "application/json"}) == 401
    replay = signed_event("sms:received", received(phone, "ACARA"), timestamp=1_700_000_000)
    assert await sms.post(*replay) == 401
    assert gateway.to(phone) == []
    seen = await runtime.storage.db.fetchall("SELECT count(*) FROM sms_seen")
    assert seen[0][0] == 0


async def test_resident_starts_by_sms_alone_and_registers_with_numbers(
    runtime: Runtime, sms: Sms, gateway: FakeSmsGateway
) -> None:
    t = runtime.translator
    phone = "+6285244445555"
    event = await event_id(runtime, COMPUTER)
    await sms.text(phone, f"DAFTAR {event}")
    assert gateway.to(phone)[-1].startswith(t.text("id", "reg.consent_needed")[:40])
    await sms.text(phone, "1")  # Privasi: the brief notice written for SMS, whole
    brief = t.text("id", "privacy.notice_brief")
    assert gateway.to(phone)[-1].startswith(brief + "\n1 ")
    await sms.text(phone, "1")  # Setuju
    regencies = gateway.to(phone)[-1]
    # 22 regencies do not fit: the core pages them, nine numbers at a time.
    assert regencies.splitlines()[-2] == "9 " + to_gsm7(t.text("id", "paging.more"))
    await sms.text(phone, "9")
    await sms.text(phone, "3")  # Ende, on the second page
    resident = await runtime.storage.residents.find(channel="sms", external_id=phone)
    assert resident is not None and resident.regency_code == "ende"
    await sms.text(phone, f"daftar {event}")
    await sms.text(phone, "Maria Goreti")
    for answer in ("1", "2", "Oelomin", "1"):  # perempuan, 18-35, village, Daftar sekarang
        await sms.text(phone, answer)
    mine = await runtime.storage.registrations.for_resident(resident_id=resident.id, event_id=event)
    assert [(r.name, r.status) for r in mine] == [("Maria Goreti", "confirmed")]
    # BATAL lists the registration to cancel by number.
    await sms.text(phone, "BATAL")
    assert "1 Batal" in gateway.to(phone)[-1]
    # Each answer was one SMS within three segments, in GSM-7.
    assert all(segments(text) <= 3 and is_gsm7(text) for text in gateway.to(phone))


async def test_resident_adds_own_sms_number_verified_by_code(
    runtime: Runtime, tg: TelegramHarness, sms: Sms, gateway: FakeSmsGateway
) -> None:
    t = runtime.translator
    user, phone = 4102, "+6281377778888"
    await tg.onboard(user)
    asked = await tg.send(user, "/nomorsms")
    assert t.text("id", "sms.number.ask") in texts(asked)
    sent = await tg.send(user, "0813-7777-8888")
    assert t.text("id", "sms.number.sent", phone="0813-7777-8888") in texts(sent)
    await deliver_sms(runtime, sms, done=1)
    [message] = gateway.to(phone)
    code = re.search(r"\b(\d{6})\b", message)
    assert code is not None
    wrong = "000000" if code.group(1) != "000000" else "111111"
    assert t.text("id", "sms.number.wrong", tries=4) in texts(await tg.send(user, wrong))
    verified = await tg.send(user, code.group(1))
    assert t.text("id", "sms.number.verified", phone="0813-7777-8888") in texts(verified)
    resident = await runtime.storage.residents.find(channel="telegram", external_id=str(user))
    assert resident is not None
    assert await runtime.storage.sms.number_of(resident_id=resident.id) == phone
    # Their own reminders now have an SMS copy to that number, besides the chat.
    event = await event_id(runtime, COMPUTER)
    await register_and_confirm(tg, user, event, "Yohana")
    now = utcnow()
    await runtime.storage.reminders.sync(default_offsets=(24 * 60,), now=now)
    await sms.channel.copy_now(now - timedelta(minutes=1))
    rows = await runtime.storage.db.fetchall(
        "SELECT channel, recipient, params FROM outbox WHERE kind = 'reminder' ORDER BY id"
    )
    assert [(r["channel"], r["recipient"]) for r in rows] == [
        ("telegram", str(user)),
        ("sms", phone),
    ]
    assert json.loads(rows[1]["params"])["sms"] == "self"


async def test_neighbour_consent_asks_again_and_keeps_the_number(
    runtime: Runtime, tg: TelegramHarness, sms: Sms
) -> None:
    """ "12345" at "did <name> agree?" asks again with both buttons and the number typed
    before; the tap then saves that number."""
    t = runtime.translator
    event = await event_id(runtime, COMPUTER)
    await tg.onboard(KADER)
    confirmed = await register_someone_else(tg, KADER, event, "Siti")
    await tg.tap(KADER, next(p for p in payloads(confirmed) if p.startswith("smsn:")))
    consent = await tg.send(KADER, "0812 3456 7890")
    replies = await tg.send(KADER, "12345")
    assert t.text("id", "steps.hint_choice") in texts(replies)
    asked = t.text("id", "sms.neighbour.consent", name="Siti", phone="0812-3456-7890")
    assert asked in texts(replies)
    assert payloads(replies) == payloads(consent) == ["smsc:y", "smsc:n"]
    saved = await tg.tap(KADER, "smsc:y")
    assert t.text("id", "sms.neighbour.saved", name="Siti", phone="0812-3456-7890") in texts(saved)


@pytest.mark.parametrize("language", ["id", "en"])
def test_brief_privacy_notice_fits_three_gsm7_segments_with_its_choices(
    runtime: Runtime, language: str
) -> None:
    """The brief notice is written in GSM-7 and, with the agree / decline choices and the
    answer hint as the SMS channel sends them, takes at most three segments, uncut."""
    t = runtime.translator
    brief = t.text(language, "privacy.notice_brief")
    assert is_gsm7(brief) and segments(brief) <= 3
    consent = Reply(
        brief,
        (
            Choice(t.text(language, "onboarding.agree"), "consent:yes"),
            Choice(t.text(language, "onboarding.decline"), "consent:no"),
        ),
    )
    sent = render([consent], t.text(language, "sms.reply_hint"), max_segments=3)
    assert sent.startswith(brief + "\n1 ") and segments(sent) <= 3
    # The whole notice would not fit one SMS: that is why the core picks the brief one.
    assert len(t.text(language, "privacy.notice")) > CAPABILITIES.max_text
    # It says what is kept, why, and how to see and delete it and read the whole notice.
    words = {
        "id": ("nomor HP", "Gunanya", "DATASAYA", "HAPUSDATA", "perpustakaan", "27/2022"),
        "en": ("phone number", "Why", "MYDATA", "DELETEMYDATA", "library", "27/2022"),
    }[language]
    assert all(word in brief for word in words)


async def test_sms_resident_sees_and_deletes_their_data_by_the_notices_keywords(
    runtime: Runtime, sms: Sms, gateway: FakeSmsGateway
) -> None:
    t = runtime.translator
    phone = "+6285244446666"
    await sms.text(phone, "/privasi")
    assert gateway.to(phone)[-1].startswith(t.text("id", "privacy.notice_brief"))
    await sms.text(phone, "ya")  # agrees
    await sms.text(phone, "Ende")
    resident = await runtime.storage.residents.find(channel="sms", external_id=phone)
    assert resident is not None and resident.has_consent and resident.regency_code == "ende"
    await sms.text(phone, "DATASAYA")
    assert phone in gateway.to(phone)[-1] and "Ende" in gateway.to(phone)[-1]
    await sms.text(phone, "hapusdata")
    assert gateway.to(phone)[-1].startswith(t.text("id", "privacy.delete_confirm"))
    await sms.text(phone, "1")  # Ya, hapus
    assert gateway.to(phone)[-1].startswith(t.text("id", "privacy.deleted"))
    gone = await runtime.storage.residents.find(channel="sms", external_id=phone)
    assert gone is None or not gone.has_consent
    assert all(segments(text) <= 3 for text in gateway.to(phone))


def test_numbered_choices_read_the_same_by_sms_and_in_the_terminal() -> None:
    """One rule (bot/channels/numbered.py), each channel's layout: an event list's own "1. " is
    not repeated after the number the person types."""
    from bot.channels.terminal import render as terminal_render

    choices = (Choice("1. Pelatihan komputer", "ev:1"), Choice("Menu", "menu"))
    assert terminal_render(Reply("Acara:", choices)).splitlines()[1:] == [
        "  1. Pelatihan komputer",
        "  2. Menu",
    ]
    assert render([Reply("Acara:", choices)], "Balas dengan angkanya.", 3).splitlines() == [
        "Acara:",
        "1 Pelatihan komputer",
        "2 Menu",
        "Balas dengan angkanya.",
    ]
