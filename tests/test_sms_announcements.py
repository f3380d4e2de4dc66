"""Announcements by SMS, per announcement: the librarian's /siaran offers "also by SMS" with the
people and segments against the day's budget; without that choice no SMS phone gets it, with it
residents who use SMS alone and those with a verified SMS number do, within the budget and behind
the day's reminders. Through the real flow on Telegram, the real outbox worker and the fake SMS
gateway on loopback."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.channels.gsm7 import is_gsm7, segments, to_gsm7
from bot.config import Secret, Settings, StaffId
from bot.runtime import Runtime, SmsCost
from storage.clock import from_db, to_db, utcnow
from storage.outbox import OutboxMessage
from storage.sms import PRIORITY_SMS_REMINDER
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.telegram_api import FakeBotApi
from tests.sms_support import Sms, deliver_sms, sms_settings
from tests.sms_support import gateway as gateway  # noqa: F401 - fixture
from tests.sms_support import sms as sms  # noqa: F401 - fixture
from tests.staff_support import ADMIN, outbox_rows
from tests.staff_support import resident as chat_resident
from tests.telegram_harness import Call, TelegramHarness, buttons, texts

LIBRARIAN = 7302
SENDER = "Perpustakaan Daerah Kabupaten Ende"
TEXT = "Besok perpustakaan keliling datang ke Oelomin jam 9."
OWN_NUMBER = "+6281311112222"  # a Telegram resident's verified number for SMS
SMS_ONLY = "+6285233330001"  # residents who started by SMS
SMS_ONLY_EN = "+6285233330002"
WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture
def settings(fake_api: FakeBotApi, app_db: str, gateway: FakeSmsGateway) -> Settings:  # noqa: F811
    return Settings(
        telegram_token=Secret(fake_api.token),
        telegram_api_url=fake_api.url,
        db_path=app_db,
        admins=(StaffId("telegram", str(ADMIN)),),
        sms=sms_settings(gateway),
    )


async def _sms_resident(runtime: Runtime, phone: str, language: str) -> int:
    residents = runtime.storage.residents
    made = await residents.ensure(channel="sms", external_id=phone, language=language, now=utcnow())
    await residents.give_consent(resident_id=made.id, now=utcnow())
    await residents.set_regency(resident_id=made.id, regency_code="ende", now=utcnow())
    return made.id


async def _population(runtime: Runtime) -> dict[str, int]:
    """Ende: one resident on Telegram only, one on Telegram with a verified SMS number, two who
    use SMS alone (one English); Alor: one who uses SMS alone (not in the audience)."""
    chat_only = await chat_resident(runtime, 8201, "ende")
    with_number = await chat_resident(runtime, 8202, "ende")
    sms = runtime.storage.sms
    now = utcnow()
    await sms.start_verification(
        resident_id=with_number.id, phone=OWN_NUMBER, code="123456", expires_at=now + timedelta(1)
    )
    await sms.verify(resident_id=with_number.id, code="123456", now=now)
    alor = await runtime.storage.residents.ensure(
        channel="sms", external_id="+6285299990000", language="id", now=utcnow()
    )
    await runtime.storage.residents.give_consent(resident_id=alor.id, now=utcnow())
    await runtime.storage.residents.set_regency(
        resident_id=alor.id, regency_code="alor", now=utcnow()
    )
    return {
        "chat": chat_only.id,
        "number": with_number.id,
        "sms": await _sms_resident(runtime, SMS_ONLY, "id"),
        "sms_en": await _sms_resident(runtime, SMS_ONLY_EN, "en"),
    }


def _sms_text(runtime: Runtime, language: str) -> str:
    return runtime.translator.text(language, "staff.bc.message_sms", sender=SENDER, text=TEXT)


def _expected_segments(runtime: Runtime) -> int:
    """Two Indonesian readers (the own number, one SMS-only) and one English."""
    return 2 * segments(to_gsm7(_sms_text(runtime, "id"))) + segments(
        to_gsm7(_sms_text(runtime, "en"))
    )


async def _to_confirmation(tg: TelegramHarness) -> list[Call]:
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    await tg.send(LIBRARIAN, "/siaran")
    await tg.send(LIBRARIAN, TEXT)
    return await tg.tap(LIBRARIAN, "bc:a:all")


async def test_without_the_switch_no_sms_phone_gets_the_announcement(
    runtime: Runtime, tg: TelegramHarness, sms: Sms, gateway: FakeSmsGateway
) -> None:
    t = runtime.translator
    people = await _population(runtime)
    calls = await _to_confirmation(tg)
    # The chats reach two; three would read it by SMS, if the librarian chooses so later.
    assert t.text("id", "staff.bc.count", count="2") in texts(calls)
    assert t.text("id", "staff.bc.count_sms", count="3") in texts(calls)
    calls = await tg.tap(LIBRARIAN, "bc:now")
    offer = t.text(
        "id",
        "staff.bc.sms_offer",
        people="3",
        segments=str(_expected_segments(runtime)),
        day=t.text("id", "staff.bc.sms_today"),
        left="100",
        limit="100",
    )
    assert offer in texts(calls)
    assert buttons(calls) == [
        (t.text("id", "staff.bc.yes_send"), "bc:ok"),
        (t.text("id", "staff.bc.yes_send_sms"), "bc:oks"),
        (t.text("id", "staff.bc.cancel"), "bc:x"),
    ]
    # "iya" is the plain yes: SMS costs money and is only ever its own choice.
    calls = await tg.send(LIBRARIAN, "iya")
    assert "Pengumuman #1 sedang dikirim kepada 2 penerima" in texts(calls)
    assert t.text("id", "staff.bc.sms_queued") not in texts(calls)
    rows = await outbox_rows(runtime)
    assert sorted((r["channel"], r["resident_id"]) for r in rows) == [
        ("telegram", people["chat"]),
        ("telegram", people["number"]),
    ]
    assert not (await runtime.storage.broadcasts.get(broadcast_id=1)).sms
    assert await runtime.storage.db.fetchall("SELECT * FROM outbox WHERE channel = 'sms'") == []
    assert gateway.sent == []


async def test_with_the_switch_sms_readers_get_it_counted_in_segments(
    runtime: Runtime, tg: TelegramHarness, sms: Sms, gateway: FakeSmsGateway
) -> None:
    people = await _population(runtime)
    await _to_confirmation(tg)
    await tg.tap(LIBRARIAN, "bc:now")
    calls = await tg.send(LIBRARIAN, "2")  # the second choice: also by SMS
    assert runtime.translator.text("id", "staff.bc.sms_queued") in texts(calls)
    assert (await runtime.storage.broadcasts.get(broadcast_id=1)).sms
    rows = await outbox_rows(runtime)
    assert sorted((r["channel"], r["recipient"], r["dedupe_key"]) for r in rows) == sorted(
        [
            ("telegram", "8201", f"broadcast:1:{people['chat']}"),
            ("telegram", "8202", f"broadcast:1:{people['number']}"),
            ("sms", OWN_NUMBER, f"broadcast:1:{people['number']}:sms"),
            ("sms", SMS_ONLY, f"broadcast:1:{people['sms']}"),
            ("sms", SMS_ONLY_EN, f"broadcast:1:{people['sms_en']}"),
        ]
    )
    await deliver_sms(runtime, sms, done=3)
    # Each SMS reader got the SMS text in their language, GSM-7, no chat command in it.
    assert gateway.to(OWN_NUMBER) == [to_gsm7(_sms_text(runtime, "id"))]
    assert gateway.to(SMS_ONLY) == [to_gsm7(_sms_text(runtime, "id"))]
    assert gateway.to(SMS_ONLY_EN) == [to_gsm7(_sms_text(runtime, "en"))]
    assert all(is_gsm7(s.text) and "/" not in s.text for s in gateway.sent)
    assert gateway.to("+6285299990000") == []  # Alor: not in the audience
    day = await runtime.storage.sms.day(day=utcnow().astimezone(WITA).date().isoformat())
    assert day.by_kind == {"announcement": (3, _expected_segments(runtime))}
    # The copy says "balas BERHENTI": from the chat resident's own number, that stops their
    # announcements (the resident is on Telegram; the number has no SMS account of its own).
    await sms.text(OWN_NUMBER, "BERHENTI")
    assert gateway.to(OWN_NUMBER)[-1].startswith(
        to_gsm7(runtime.translator.text("id", "privacy.stopped"))
    )
    owner = await runtime.storage.residents.get(resident_id=people["number"])
    assert owner is not None and owner.announcements_off


async def test_scheduled_with_sms_keeps_the_choice_until_it_goes(
    runtime: Runtime, tg: TelegramHarness, sms: Sms, gateway: FakeSmsGateway
) -> None:
    t = runtime.translator
    await _population(runtime)
    await _to_confirmation(tg)
    await tg.tap(LIBRARIAN, "bc:later")
    when = (utcnow() + timedelta(days=2)).astimezone(WITA).replace(hour=9, minute=0, second=0)
    calls = await tg.send(LIBRARIAN, when.strftime("%d-%m-%Y 09.00"))
    day = t.day("id", datetime.combine(when.date(), datetime.min.time(), WITA))
    assert f"Sisa anggaran SMS untuk {day}: 100 dari 100" in texts(calls)
    assert (t.text("id", "staff.bc.yes_schedule_sms"), "bc:oks") in buttons(calls)
    calls = await tg.send(LIBRARIAN, "jadwalkan sms")  # the button's words
    assert "dijadwalkan untuk 5 penerima" in texts(calls)
    mine = texts(await tg.send(LIBRARIAN, "/siaranku"))
    assert "#1 · terjadwal" in mine and t.text("id", "staff.bc.summary_sms") in mine
    rows = [r for r in await outbox_rows(runtime) if r["channel"] == "sms"]
    assert len(rows) == 3 and {from_db(str(r["due_at"])) for r in rows} == {when}
    # Its time comes: the SMS go like the chat messages.
    await runtime.storage.db.write(
        "UPDATE outbox SET due_at = ? WHERE dedupe_key LIKE 'broadcast:1:%'", (to_db(utcnow()),)
    )
    await deliver_sms(runtime, sms, done=3)
    assert len(gateway.sent) == 3


async def test_budget_nearly_spent_defers_it_behind_the_reminders(
    runtime: Runtime, tg: TelegramHarness, sms: Sms, gateway: FakeSmsGateway
) -> None:
    t = runtime.translator
    await _population(runtime)
    budget = 4
    sms.channel.sms_sender.settings = sms_settings(gateway, daily_limit=budget)
    runtime.dispatcher.settings = dataclasses.replace(
        runtime.dispatcher.settings,  # type: ignore[type-var]
        sms_cost=SmsCost(daily_limit=budget, max_segments=3),
    )
    now = utcnow()
    local = now.astimezone(WITA)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), WITA)
    # Two segments already spent today, and an SMS reminder due later today keeps one more.
    for phone in ("+6281200000001", "+6281200000002"):
        await runtime.storage.sms.reserve(
            day=local.date().isoformat(),
            day_ends=midnight,
            kind="reply",
            recipient=phone,
            segments=1,
            limit=budget,
            now=now,
        )
    reminder_due = min(now + timedelta(minutes=10), midnight - timedelta(minutes=1))
    await runtime.storage.outbox.add_many(
        [
            OutboxMessage(
                dedupe_key="reminder:77:2h:sms",
                kind="reminder",
                channel="sms",
                recipient="+6281299990077",
                text="Pustaka: pengingat acara nanti.",
                priority=PRIORITY_SMS_REMINDER,
                due_at=reminder_due,
            )
        ],
        now=utcnow(),
    )
    await _to_confirmation(tg)
    calls = await tg.tap(LIBRARIAN, "bc:now")
    assert "Sisa anggaran SMS untuk hari ini: 1 dari 4 segmen" in texts(calls)
    assert t.text("id", "staff.bc.sms_over_budget") in texts(calls)
    await tg.tap(LIBRARIAN, "bc:oks")
    await deliver_sms(runtime, sms, done=3)
    sms_rows = [r for r in await outbox_rows(runtime) if r["channel"] == "sms"]
    # One segment was open beside the reminder's: one announcement SMS (of one segment) goes,
    # the other two wait for tomorrow.
    assert sorted(str(r["status"]) for r in sms_rows) == ["pending", "pending", "sent"]
    waiting = [r for r in sms_rows if r["status"] == "pending"]
    assert all("budget" in str(r["last_error"]) for r in waiting)
    assert all(from_db(str(r["due_at"])) >= midnight for r in waiting)
    assert len(gateway.sent) == 1
    # The reminder, when due, still has its segment.
    await runtime.storage.db.write(
        "UPDATE outbox SET due_at = ? WHERE dedupe_key = 'reminder:77:2h:sms'", (to_db(now),)
    )
    await deliver_sms(runtime, sms, done=4, sent="reminder:77:2h:sms")
    assert gateway.to("+6281299990077") == ["Pustaka: pengingat acara nanti."]
    day = await runtime.storage.sms.day(day=local.date().isoformat())
    assert day.segments == budget
    assert day.by_kind == {"announcement": (1, 1), "reminder": (1, 1), "reply": (2, 2)}
