"""Registration through the real Telegram Application: register, see, cancel, calendar, proxies,
check-in, stale buttons, restarts, and the outbox messages registrants receive."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from functools import partial

from bot.channels.telegram import TelegramChannel
from bot.notifications import render
from bot.runtime import Runtime
from handlers.types import CoreSettings
from storage.clock import to_db, utcnow
from tests.fakes.telegram_api import FakeBotApi
from tests.registration_scenarios import (
    COMPUTER,
    KELOR,
    check_in_too_early_then_an_unknown_code,
    closed_while_on_the_summary,
    event_id,
    leave_the_flow_at_every_step,
    outbox_rows,
    own_registration,
    promotion_of_budi,
    proxy_repeat_limit_and_own_seat,
    refused_without_consent,
    register_and_confirm,
    register_first_time,
    register_someone_else,
    resident_id,
    set_event,
    stale_and_foreign_buttons_get_clear_answers,
)
from tests.telegram_harness import TelegramHarness, buttons, payloads, texts

ANA, BUDI, CITRA = 8101, 8102, 8103


async def test_register_calendar_my_events_and_cancel(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await tg.onboard(ANA, regency="kota-kupang")
    event = await event_id(runtime, COMPUTER)
    calls = await tg.tap(ANA, f"ev:{event}")
    assert f"reg:{event}" in payloads(calls) and f"regp:{event}" in payloads(calls)

    calls = await tg.tap(ANA, f"reg:{event}")
    assert "Ketik nama lengkap" in texts(calls)
    calls = await tg.send(ANA, "  Maria   Goreti ")
    assert "Jenis kelamin Anda?" in texts(calls)
    assert payloads(calls) == ["rq:female", "rq:male", "rq:unsaid", "rq:-", "batal"]
    calls = await tg.tap(ANA, "rq:female")
    assert "Kelompok usia" in texts(calls)
    calls = await tg.tap(ANA, "rq:18_35")
    assert "Desa/kelurahan" in texts(calls)
    calls = await tg.send(ANA, "Oesapa")
    summary = texts(calls)
    assert "Periksa pendaftaran" in summary and "Maria Goreti" in summary
    assert "Perempuan" in summary and "18–35 tahun" in summary and "Oesapa" in summary
    assert " pukul " in summary and "WITA" in summary

    calls = await tg.tap(ANA, f"reg!:{event}")
    text = texts(calls)
    assert "Anda terdaftar" in text and "Ruang multimedia" in text and "WITA" in text
    mine = await runtime.storage.registrations.upcoming(
        resident_id=await resident_id(runtime, ANA), now=utcnow()
    )
    assert len(mine) == 1 and mine[0].status == "confirmed"
    assert (mine[0].gender, mine[0].age_band, mine[0].village) == ("female", "18_35", "Oesapa")
    rid = mine[0].id
    assert [f"ics:{rid}", f"rc?:{rid}", "my", "menu"] == payloads(calls)

    # A second tap on the old confirmation does not take a second seat.
    calls = await tg.tap(ANA, f"reg!:{event}")
    assert "sudah terdaftar" in texts(calls)
    calls = await tg.tap(ANA, f"reg:{event}")
    assert "sudah terdaftar" in texts(calls)
    assert (await runtime.storage.events.get(event_id=event)).seats_taken == 1

    calls = await tg.tap(ANA, f"ics:{rid}")
    assert calls[0].method == "sendDocument"
    document = calls[0].params["document"]
    assert document["filename"].endswith(".ics")
    ics = document["content"].decode()
    assert "BEGIN:VCALENDAR" in ics and "DTSTART:" in ics and "Pelatihan Komputer Dasar" in ics

    calls = await tg.send(ANA, "/acarasaya")
    assert "Acara saya" in texts(calls) and "Maria Goreti — ✅ terdaftar" in texts(calls)
    assert f"rc?:{rid}" in payloads(calls)
    calls = await tg.tap(ANA, f"rc?:{rid}")
    assert payloads(calls) == [f"rc:{rid}", "my"]
    calls = await tg.tap(ANA, f"rc:{rid}")
    assert "sudah dibatalkan" in texts(calls)
    assert (await runtime.storage.events.get(event_id=event)).seats_taken == 0
    # The old buttons now get a clear answer.
    for payload in (f"rc:{rid}", f"rc?:{rid}", f"ics:{rid}"):
        calls = await tg.tap(ANA, payload)
        assert "sudah dibatalkan sebelumnya" in texts(calls), payload
    calls = await tg.send(ANA, "/myevents")
    assert "belum terdaftar" in texts(calls)


async def test_english_and_remembered_answers_make_it_two_taps(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await tg.onboard(ANA, language="en", regency="kupang")
    first, second = await event_id(runtime, COMPUTER), await event_id(runtime, KELOR)
    await tg.tap(ANA, f"reg:{first}", "en")
    await tg.send(ANA, "Ana Lopes", "en")
    await tg.tap(ANA, "rq:-", "en")
    await tg.tap(ANA, "rq:55p", "en")
    calls = await tg.send(ANA, "skip", "en")
    assert "Gender: —" in texts(calls) and "Over 55" in texts(calls)
    calls = await tg.tap(ANA, f"reg!:{first}", "en")
    assert "You are registered" in texts(calls) and " at " in texts(calls)

    calls = await tg.tap(ANA, f"reg:{second}", "en")
    text = texts(calls)
    assert "Please check the registration" in text and "Ana Lopes" in text
    assert "Over 55" in text
    calls = await tg.tap(ANA, f"reg!:{second}", "en")
    assert "You are registered" in texts(calls) and "WITA" in texts(calls)

    # Changing the name and answers from the summary.
    await set_event(runtime, first, capacity=30)
    await tg.tap(ANA, f"rc:{(await own_registration(runtime, ANA, first))}", "en")
    calls = await tg.tap(ANA, f"reg:{first}", "en")
    calls = await tg.tap(ANA, "regn", "en")
    assert "Name for the registration: Ana Lopes" in texts(calls)
    calls = await tg.send(ANA, "Ana Maria Lopes", "en")
    assert "Ana Maria Lopes" in texts(calls)
    calls = await tg.tap(ANA, "rega", "en")
    assert "Gender of you?" in texts(calls)
    await tg.tap(ANA, "rq:female", "en")
    await tg.tap(ANA, "rq:36_55", "en")
    calls = await tg.send(ANA, "Baumata", "en")
    assert "Female" in texts(calls) and "36–55" in texts(calls) and "Baumata" in texts(calls)
    calls = await tg.tap(ANA, f"reg!:{first}", "en")
    assert "You are registered" in texts(calls) and "Ana Maria Lopes" in texts(calls)


async def test_waitlist_promotion_message_through_outbox(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, COMPUTER)
    await set_event(runtime, event, capacity=1, waitlist_limit=1)
    for user in (ANA, BUDI, CITRA):
        await tg.onboard(user)
    calls = await register_and_confirm(tg, ANA, event, "Ana")
    assert "Anda terdaftar" in texts(calls)
    calls = await register_and_confirm(tg, BUDI, event, "Budi")
    assert "daftar tunggu nomor 1" in texts(calls)
    calls = await register_and_confirm(tg, CITRA, event, "Citra")
    assert "kursi dan daftar tunggu untuk acara ini sudah penuh" in texts(calls)

    calls = await tg.send(BUDI, "/acarasaya")
    assert "daftar tunggu nomor 1" in texts(calls)
    rid = await own_registration(runtime, ANA, event)
    calls = await tg.tap(ANA, f"rc:{rid}")
    assert "orang berikutnya di daftar tunggu" in texts(calls)
    budi = await own_registration(runtime, BUDI, event)
    _, rendered = await promotion_of_budi(runtime, budi, str(BUDI))
    assert "WITA" in rendered.text
    calls = await tg.send(BUDI, "/acarasaya")
    assert "Budi — ✅ terdaftar" in texts(calls)


async def test_cancelled_and_rescheduled_event_messages(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, COMPUTER)
    await tg.onboard(ANA, language="en")
    await register_first_time(tg, ANA, event, "Ana")
    await tg.tap(ANA, f"reg!:{event}", "en")
    before = await runtime.storage.events.get(event_id=event)
    moved = before.starts_at + timedelta(days=1)
    await runtime.storage.registrations.reschedule_event(
        event_id=event, starts_at=moved, ends_at=moved + timedelta(hours=3), now=utcnow()
    )
    (changed,) = await outbox_rows(runtime, "event_changed")
    rendered = await render(
        "event_changed",
        json.loads(str(changed["params"])),
        "en",
        runtime.translator,
        runtime.storage,
    )
    assert "schedule of Pelatihan Komputer Dasar has changed" in rendered.text
    assert runtime.translator.when("en", before.starts_at) in rendered.text
    assert runtime.translator.when("en", moved) in rendered.text and "Ana" in rendered.text

    await runtime.storage.registrations.cancel_event(event_id=event, now=utcnow())
    (cancelled,) = await outbox_rows(runtime, "event_cancelled")
    assert cancelled["language"] == "en"
    rendered = await render(
        "event_cancelled",
        json.loads(str(cancelled["params"])),
        "en",
        runtime.translator,
        runtime.storage,
    )
    assert "has been cancelled" in rendered.text and "Ana" in rendered.text
    calls = await tg.tap(ANA, f"reg:{event}", "en")
    assert "cancelled by the library" in texts(calls)
    # The confirmation's old buttons neither cancel (the numbers keep who was affected) nor
    # send a calendar file for an event that will not take place.
    anas = await own_registration(runtime, ANA, event)
    for payload in (f"rc?:{anas}", f"rc:{anas}", f"ics:{anas}"):
        calls = await tg.tap(ANA, payload, "en")
        assert "cancelled by the library" in texts(calls), payload
        assert not [c for c in calls if c.method == "sendDocument"]
    assert (await runtime.storage.registrations.get(registration_id=anas)).status == "confirmed"
    calls = await tg.send(ANA, "/myevents", "en")
    assert "event cancelled" in texts(calls)
    assert not [p for p in payloads(calls) if p.startswith("rc?")]


async def test_closed_registration_and_no_consent(tg: TelegramHarness, runtime: Runtime) -> None:
    event = await event_id(runtime, COMPUTER)
    calls = await refused_without_consent(tg, BUDI, event)
    assert "/privasi" in texts(calls)

    await closed_while_on_the_summary(tg, runtime, ANA, event)
    calls = await tg.tap(ANA, f"ev:{event}")
    assert f"reg:{event}" not in payloads(calls)
    await runtime.storage.registrations.open_event(
        event_id=event, opens_at=utcnow() + timedelta(days=1)
    )
    calls = await tg.tap(ANA, f"reg:{event}")
    assert "baru dibuka" in texts(calls) and "WITA" in texts(calls)


async def test_proxy_registration_and_its_limit(tg: TelegramHarness, runtime: Runtime) -> None:
    runtime.dispatcher.settings = replace(CoreSettings(), proxy_limit=2)
    event = await event_id(runtime, COMPUTER)
    await tg.onboard(ANA)
    for name in ("Nenek Yuliana", "Bapak Yosef"):
        calls = await tg.tap(ANA, f"regp:{event}")
        assert "orang yang Anda daftarkan" in texts(calls)
        calls = await tg.send(ANA, name)
        assert f"Jenis kelamin {name}?" in texts(calls)
        await tg.tap(ANA, "rq:-")
        await tg.tap(ANA, "rq:55p")
        calls = await tg.tap(ANA, "rq:-")
        assert "atas nama orang lain" in texts(calls)
        calls = await tg.tap(ANA, f"reg!:{event}")
        assert f"{name} terdaftar" in texts(calls)
    await proxy_repeat_limit_and_own_seat(tg, runtime, ANA, event)


async def test_cancel_leaves_the_flow_at_every_step(tg: TelegramHarness) -> None:
    await tg.onboard(ANA)
    await leave_the_flow_at_every_step(tg, ANA, 1)
    # The ✖ button does the same, and the typed text afterwards is not taken as a name.
    await tg.tap(ANA, "reg:1")
    await tg.tap(ANA, "batal")
    calls = await tg.send(ANA, "jam buka")
    assert "Jam buka" in texts(calls)


async def test_flow_survives_a_restart(
    tg: TelegramHarness, runtime: Runtime, fake_api: FakeBotApi
) -> None:
    event = await event_id(runtime, COMPUTER)
    await tg.onboard(ANA)
    await tg.tap(ANA, f"reg:{event}")
    await tg.send(ANA, "Ana Restart")
    await tg.tap(ANA, "rq:female")
    # A new process: new Runtime, new Application, same database file.
    second = await Runtime.open(runtime.settings)
    try:
        app = TelegramChannel(second.settings, second.dispatcher, second.translator).build()
        async with app:
            again = TelegramHarness(app, fake_api)
            calls = await again.tap(ANA, "rq:36_55")
            assert "Desa/kelurahan" in texts(calls)
            calls = await again.send(ANA, "Oebobo")
            assert "Ana Restart" in texts(calls)
            calls = await again.tap(ANA, f"reg!:{event}")
            assert "Anda terdaftar" in texts(calls)
    finally:
        await second.close()
    assert (await runtime.storage.events.get(event_id=event)).seats_taken == 1


async def test_check_in_by_code_with_proxies_walk_ins_and_windows(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, COMPUTER)
    await tg.onboard(ANA)
    await tg.onboard(BUDI, language="en")
    await register_and_confirm(tg, ANA, event, "Ana")
    await register_someone_else(tg, ANA, event, "Nenek Yuliana")
    code = await runtime.storage.registrations.checkin_code(event_id=event)

    await check_in_too_early_then_an_unknown_code(tg, runtime, ANA, event, code)
    calls = await tg.send(ANA, code.lower())  # still waiting for a code after the wrong one
    assert "Kehadiran Anda tercatat" in texts(calls)
    proxy = [p for p in payloads(calls) if p.startswith("hdp:")]
    assert len(proxy) == 1 and "Nenek Yuliana" in buttons(calls)[0][0]
    calls = await tg.tap(ANA, proxy[0])
    assert "Nenek Yuliana tercatat hadir" in texts(calls)
    assert not [p for p in payloads(calls) if p.startswith("hdp:")]
    calls = await tg.send(ANA, code)  # typed alone, again
    assert "sudah tercatat" in texts(calls)

    calls = await tg.send(BUDI, "/checkin", "en")
    assert "attendance code" in texts(calls)
    calls = await tg.send(BUDI, code, "en")
    assert "without registration" in texts(calls)
    counts = await runtime.storage.registrations.counts(event_id=event)
    assert (counts.attended, counts.walk_ins) == (3, 1)
    # A word that merely looks like a code still gets the free-text answer.
    calls = await tg.send(ANA, "ENDE")
    assert "Perpustakaan di Ende" in texts(calls)


async def test_stale_and_foreign_buttons_get_clear_answers(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await stale_and_foreign_buttons_get_clear_answers(
        tg, runtime, ANA, BUDI, partial(own_registration, runtime)
    )


async def test_deleting_personal_data_cancels_and_anonymises(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, COMPUTER)
    await set_event(runtime, event, capacity=1)
    await tg.onboard(ANA)
    await tg.onboard(BUDI)
    await register_and_confirm(tg, ANA, event, "Ana")
    await register_and_confirm(tg, BUDI, event, "Budi")
    anas = await own_registration(runtime, ANA, event)
    await tg.send(ANA, "/hapusdata")
    await tg.tap(ANA, "del:yes")
    gone = await runtime.storage.registrations.get(registration_id=anas)
    assert gone.status == "cancelled" and gone.name is None and gone.resident_id is None
    calls = await tg.send(BUDI, "/acarasaya")
    assert "Budi — ✅ terdaftar" in texts(calls)
    assert len(await outbox_rows(runtime, "promotion")) == 1
    calls = await tg.send(ANA, "/acarasaya")
    assert "belum terdaftar" in texts(calls)


async def test_my_data_shows_registrations_and_remembered_answers(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, COMPUTER)
    await tg.onboard(ANA)
    await register_and_confirm(tg, ANA, event, "Ana")
    calls = await tg.send(ANA, "/datasaya")
    text = texts(calls)
    assert "Pendaftaran acara mendatang: 1" in text
    assert "jenis kelamin Perempuan, usia 18–35 tahun, desa Oesapa" in text


async def test_deadline_passed_or_not_open_yet_is_said_before_any_question(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, COMPUTER)
    await tg.onboard(ANA, language="en")
    await set_event(runtime, event, registration_closes_at=to_db(utcnow() - timedelta(hours=1)))
    calls = await tg.tap(ANA, f"ev:{event}", "en")
    assert f"reg:{event}" not in payloads(calls)
    calls = await tg.tap(ANA, f"reg:{event}", "en")  # an old details message
    assert "registration for this event is closed" in texts(calls)
    await set_event(
        runtime,
        event,
        registration_closes_at=None,
        registration_opens_at=to_db(utcnow() + timedelta(days=1)),
    )
    calls = await tg.tap(ANA, f"regp:{event}", "en")
    assert "opens" in texts(calls) and "WITA" in texts(calls)
