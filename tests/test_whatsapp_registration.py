"""Registration through WhatsApp: the scenarios of test_registration (Telegram), posted as signed,
Meta-shaped webhooks to the real server, with the replies checked as they reached the fake Graph
API. The fake refuses what Meta refuses (button and row titles, counts, body lengths), so every
step here also proves the reply fits WhatsApp: reply buttons for up to 3 choices, a list for more.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from bot.channels.base import Outbound
from bot.channels.whatsapp_render import width
from bot.config_whatsapp import WhatsAppTemplate, load_templates
from bot.notifications import render
from bot.runtime import Runtime
from handlers.types import CoreSettings
from storage.clock import to_db, utcnow
from storage.registrations import Answers
from tests.conftest import whatsapp_settings
from tests.fakes.whatsapp_api import FakeGraphApi, Sent
from tests.registration_scenarios import (
    COMPUTER,
    KELOR,
    check_in_too_early_then_an_unknown_code,
    closed_while_on_the_summary,
    event_id,
    leave_the_flow_at_every_step,
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
from tests.whatsapp_harness import (
    FakeClock,
    WhatsAppHarness,
    buttons,
    payloads,
    restarted,
    texts,
)

# As Meta sends them (wa_id); the bot stores "+" and the digits.
ANA, BUDI, CITRA = "6281234560001", "6281234560002", "6281234560003"
CHANNEL = "whatsapp"


def user(phone: str) -> str:
    return "+" + phone


def titles(sent: list[Sent]) -> list[str]:
    return [title for title, _ in buttons(sent)]


def assert_fits_whatsapp(sent: list[Sent]) -> None:
    """What Meta documents (lengths in UTF-16 units, as WhatsApp counts them), checked again
    here so a failure names the step."""
    for message in sent:
        if message.interactive_type == "button":
            assert 1 <= len(message.buttons) <= 3
            assert all(width(t) <= 20 for t, _ in message.buttons), message.buttons
        elif message.interactive_type == "list":
            assert 1 <= len(message.rows) <= 10
            assert all(width(r["title"]) <= 24 for r in message.rows), message.rows
            assert all(width(r.get("description", "")) <= 72 for r in message.rows)
        if message.type == "interactive":
            assert width(message.text) <= 1024
        assert width(message.text) <= 4096


async def own(runtime: Runtime, phone: str, event: int) -> int:
    return await own_registration(runtime, user(phone), event, CHANNEL)


@pytest.fixture(autouse=True)
def _nothing_refused(wa: WhatsAppHarness) -> object:
    """After every test: the fake Graph API refused nothing the bot sent."""
    yield
    assert wa.api.refused == []


async def test_register_in_indonesian_calendar_my_events_and_cancel(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    await wa.onboard(ANA, regency="kota-kupang")
    event = await event_id(runtime, COMPUTER)
    sent = await wa.tap(ANA, f"ev:{event}")
    assert f"reg:{event}" in payloads(sent) and f"regp:{event}" in payloads(sent)

    sent = await wa.tap(ANA, f"reg:{event}", "📝 Daftar")
    assert "Ketik nama lengkap" in texts(sent)
    assert payloads(sent) == ["batal"] and sent[-1].interactive_type == "button"
    sent = await wa.send(ANA, "  Maria   Goreti ")  # the name: a typed step
    assert "Jenis kelamin Anda?" in texts(sent)
    # Three answers, Lewati and Batal: five choices, so a list, every title whole.
    assert sent[-1].interactive_type == "list"
    assert payloads(sent) == ["rq:female", "rq:male", "rq:unsaid", "rq:-", "batal"]
    assert titles(sent) == [
        "Perempuan",
        "Laki-laki",
        "Tidak ingin menyebutkan",
        "Lewati ›",
        "✖ Batal",
    ]
    sent = await wa.tap(ANA, "rq:female", "Perempuan")
    assert "Kelompok usia" in texts(sent) and sent[-1].interactive_type == "list"
    assert len(sent[-1].rows) == 6
    sent = await wa.tap(ANA, "rq:18_35", "18–35 tahun")
    assert "Desa/kelurahan" in texts(sent)
    assert payloads(sent) == ["rq:-", "batal"] and sent[-1].interactive_type == "button"
    sent = await wa.send(ANA, "Oesapa")
    summary = texts(sent)
    assert "Periksa pendaftaran" in summary and "Maria Goreti" in summary
    assert "Perempuan" in summary and "18–35 tahun" in summary and "Oesapa" in summary
    assert " pukul " in summary and "WITA" in summary
    assert sent[-1].interactive_type == "list"
    assert payloads(sent) == [f"reg!:{event}", "regn", "rega", "batal"]
    assert_fits_whatsapp(sent)

    sent = await wa.tap(ANA, f"reg!:{event}", "✅ Daftar sekarang")
    text = texts(sent)
    assert "Anda terdaftar" in text and "Ruang multimedia" in text and "WITA" in text
    rid = await own(runtime, ANA, event)
    assert payloads(sent) == [f"ics:{rid}", f"rc?:{rid}", "my", "menu"]
    assert sent[-1].interactive_type == "list"
    assert_fits_whatsapp(sent)
    mine = await runtime.storage.registrations.upcoming(
        resident_id=await resident_id(runtime, user(ANA), CHANNEL), now=utcnow()
    )
    assert len(mine) == 1 and mine[0].status == "confirmed"
    assert (mine[0].name, mine[0].gender, mine[0].age_band, mine[0].village) == (
        "Maria Goreti",
        "female",
        "18_35",
        "Oesapa",
    )

    # The calendar: uploaded to /media, then sent as a document by its media id.
    uploads = len(wa.api.uploads)
    sent = await wa.tap(ANA, f"ics:{rid}", "📅 Tambah ke kalender")
    assert len(wa.api.uploads) == uploads + 1
    upload = wa.api.uploads[-1]
    # Meta's upload takes no text/calendar: the .ics goes up as plain text under its own name.
    assert upload["filename"].endswith(".ics") and upload["type"] == "text/plain"
    assert upload["messaging_product"] == "whatsapp"
    ics = upload["content"].decode()
    assert "BEGIN:VCALENDAR" in ics and "DTSTART:" in ics and "Pelatihan Komputer Dasar" in ics
    assert [s.type for s in sent] == ["document"]
    document = sent[0].body["document"]
    assert document["id"] == f"media-{len(wa.api.uploads)}"
    assert document["filename"] == upload["filename"]
    assert "kalender" in document["caption"]
    # And the caption says it in words, for a phone that does not open .ics files.
    starts_at = (await runtime.storage.events.get(event_id=event)).starts_at
    assert "Pelatihan Komputer Dasar" in document["caption"]
    assert runtime.translator.when("id", starts_at) in document["caption"]

    for command in ("/acarasaya", "/myevents"):
        sent = await wa.send(ANA, command)
        assert "Acara saya" in texts(sent) and "Maria Goreti — ✅ terdaftar" in texts(sent)
        assert payloads(sent) == [f"rc?:{rid}", "menu"]
        assert sent[-1].interactive_type == "button"
        # "❌ Batal 1. Pelatihan Komputer Dasar" is cut to the button's 20 characters on a word:
        # the number still names the item in the text above it.
        assert titles(sent)[0] == "❌ Batal 1…"
        assert_fits_whatsapp(sent)
    sent = await wa.tap(ANA, f"rc?:{rid}")
    assert payloads(sent) == [f"rc:{rid}", "my"] and titles(sent) == ["Ya, batalkan", "Tidak"]
    sent = await wa.tap(ANA, f"rc:{rid}", "Ya, batalkan")
    assert "sudah dibatalkan" in texts(sent)
    assert (await runtime.storage.events.get(event_id=event)).seats_taken == 0
    for payload in (f"rc:{rid}", f"rc?:{rid}", f"ics:{rid}"):
        sent = await wa.tap(ANA, payload)
        assert "sudah dibatalkan sebelumnya" in texts(sent), payload
    sent = await wa.send(ANA, "/acarasaya")
    assert "belum terdaftar" in texts(sent)


async def test_english_with_prefilled_name_skipped_answers_and_two_tap_repeat(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    await wa.onboard(ANA, language="en", regency="kupang")
    first, second = await event_id(runtime, COMPUTER), await event_id(runtime, KELOR)
    sent = await wa.tap(ANA, f"reg:{first}")
    assert "Type your full name" in texts(sent)
    await wa.send(ANA, "Ana Lopes")
    sent = await wa.tap(ANA, "rq:-", "Skip ›")  # gender skipped with the button
    assert "Age group of you?" in texts(sent)
    await wa.tap(ANA, "rq:55p", "Over 55")
    sent = await wa.send(ANA, "skip")  # the village skipped by typing
    assert "Gender: —" in texts(sent) and "Over 55" in texts(sent)
    assert titles(sent)[0] == "✅ Register now"
    sent = await wa.tap(ANA, f"reg!:{first}")
    assert "You are registered" in texts(sent) and " at " in texts(sent)
    assert_fits_whatsapp(sent)

    # Remembered answers: the second event is two taps, Register and Register now.
    sent = await wa.tap(ANA, f"reg:{second}", "📝 Register")
    text = texts(sent)
    assert "Please check the registration" in text and "Ana Lopes" in text and "Over 55" in text
    sent = await wa.tap(ANA, f"reg!:{second}")
    assert "You are registered" in texts(sent) and "WITA" in texts(sent)

    # From the summary: change the name (prefilled, offered as a button) and the answers.
    await set_event(runtime, first, capacity=30)
    await wa.tap(ANA, f"rc:{await own(runtime, ANA, first)}")
    await wa.tap(ANA, f"reg:{first}")
    sent = await wa.tap(ANA, "regn", "✏️ Change name")
    assert "Name for the registration: Ana Lopes" in texts(sent)
    assert payloads(sent) == ["regu", "batal"] and sent[-1].interactive_type == "button"
    sent = await wa.send(ANA, "Ana Maria Lopes")
    assert "Ana Maria Lopes" in texts(sent)
    sent = await wa.tap(ANA, "rega", "✏️ Change answers")
    assert "Gender of you?" in texts(sent)
    await wa.tap(ANA, "rq:female")
    await wa.tap(ANA, "rq:36_55")
    sent = await wa.send(ANA, "Baumata")
    assert "Female" in texts(sent) and "36–55" in texts(sent) and "Baumata" in texts(sent)
    sent = await wa.tap(ANA, f"reg!:{first}")
    assert "You are registered" in texts(sent) and "Ana Maria Lopes" in texts(sent)


async def test_prefilled_name_kept_with_its_button_and_choices_typed_by_words(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    await wa.onboard(ANA, regency="kota-kupang")
    first, second = await event_id(runtime, COMPUTER), await event_id(runtime, KELOR)
    await register_and_confirm(wa, ANA, first, "Yohana Bria")
    # Change the name on the second event's summary, then keep it after all.
    await wa.tap(ANA, f"reg:{second}")
    sent = await wa.tap(ANA, "regn")
    assert "Nama pendaftaran: Yohana Bria" in texts(sent)
    assert titles(sent) == ["✅ Pakai nama ini", "✖ Batal"]
    sent = await wa.tap(ANA, "regu", "✅ Pakai nama ini")
    assert "Periksa pendaftaran" in texts(sent) and "Yohana Bria" in texts(sent)
    # Answers typed as a list row's words, or "Lewati", instead of tapped.
    sent = await wa.tap(ANA, "rega")
    assert "Jenis kelamin Anda?" in texts(sent)
    sent = await wa.send(ANA, "laki-laki")
    assert "Kelompok usia" in texts(sent)
    sent = await wa.send(ANA, "Lewati")
    assert "Desa/kelurahan" in texts(sent)
    # The village asked again offers last time's answer as a button.
    assert titles(sent)[0] == "📍 Oesapa" and payloads(sent)[0] == "rq:="
    sent = await wa.tap(ANA, "rq:=", "📍 Oesapa")
    summary = texts(sent)
    assert "Laki-laki" in summary and "Kelompok usia: —" in summary and "Oesapa" in summary
    sent = await wa.send(ANA, "Daftar sekarang")  # the row's words work as a tap
    assert "Anda terdaftar" in texts(sent) and "Yohana Bria" in texts(sent)


async def test_already_registered_full_event_and_waitlist_with_promotion(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, COMPUTER)
    await set_event(runtime, event, capacity=1, waitlist_limit=1)
    for phone in (ANA, BUDI, CITRA):
        await wa.onboard(phone)
    sent = await register_and_confirm(wa, ANA, event, "Ana")
    assert "Anda terdaftar" in texts(sent)
    # A second tap on the old confirmation, or Daftar again: the same seat is shown.
    for payload in (f"reg!:{event}", f"reg:{event}"):
        sent = await wa.tap(ANA, payload)
        assert "sudah terdaftar" in texts(sent), payload
        anas = await own(runtime, ANA, event)
        assert payloads(sent) == [f"ics:{anas}", f"rc?:{anas}", "my", "menu"]
        assert_fits_whatsapp(sent)
    assert (await runtime.storage.events.get(event_id=event)).seats_taken == 1

    sent = await register_and_confirm(wa, BUDI, event, "Budi")
    assert "daftar tunggu nomor 1" in texts(sent)
    budi = await own(runtime, BUDI, event)
    # Waiting: no calendar yet; three choices are reply buttons.
    assert payloads(sent) == [f"rc?:{budi}", "my", "menu"]
    assert sent[-1].interactive_type == "button"
    sent = await register_and_confirm(wa, CITRA, event, "Citra")
    assert "kursi dan daftar tunggu untuk acara ini sudah penuh" in texts(sent)
    assert payloads(sent) == ["my", "menu"]

    sent = await wa.send(BUDI, "/acarasaya")
    assert "daftar tunggu nomor 1" in texts(sent)
    sent = await wa.send(ANA, "/acarasaya")
    sent = await wa.tap(ANA, payloads(sent)[0])  # ❌ Batal 1. …
    sent = await wa.tap(ANA, payloads(sent)[0], "Ya, batalkan")
    assert "orang berikutnya di daftar tunggu" in texts(sent)
    row, _ = await promotion_of_budi(runtime, budi, user(BUDI))
    # Budi wrote minutes ago: the worker's send is free-form, three reply buttons.
    before = len(wa.api.sent)
    await _deliver_row(wa, runtime, {**row, "kind": "promotion"})
    (promotion,) = wa.api.sent[before:]
    assert promotion.interactive_type == "button" and "Kabar baik" in promotion.text
    assert [p for _, p in promotion.buttons] == [f"ics:{budi}", f"rc?:{budi}", "my"]
    sent = await wa.send(BUDI, "/acarasaya")
    assert "Budi — ✅ terdaftar" in texts(sent)


async def test_proxy_registration_and_its_limit(wa: WhatsAppHarness, runtime: Runtime) -> None:
    runtime.dispatcher.settings = replace(CoreSettings(), proxy_limit=2)
    event = await event_id(runtime, COMPUTER)
    await wa.onboard(ANA)
    for name in ("Nenek Yuliana", "Bapak Yosef"):
        sent = await wa.tap(ANA, f"regp:{event}", "👥 Daftarkan orang lain")
        assert "orang yang Anda daftarkan" in texts(sent)
        assert payloads(sent) == ["batal"]  # no prefilled name for someone else
        sent = await wa.send(ANA, name)
        assert f"Jenis kelamin {name}?" in texts(sent)
        await wa.tap(ANA, "rq:-")
        await wa.tap(ANA, "rq:55p")
        sent = await wa.tap(ANA, "rq:-")
        assert "atas nama orang lain" in texts(sent)
        sent = await wa.tap(ANA, f"reg!:{event}")
        assert f"{name} terdaftar" in texts(sent)
        assert_fits_whatsapp(sent)
    sent = await proxy_repeat_limit_and_own_seat(wa, runtime, ANA, event)
    # Three cancel buttons and the menu: a list, each row titled within 24 characters.
    assert sent[-1].interactive_type == "list"
    assert_fits_whatsapp(sent)


async def test_check_in_with_the_command_and_the_code_typed_alone(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, COMPUTER)
    await wa.onboard(ANA)
    await wa.onboard(BUDI, language="en")
    await register_and_confirm(wa, ANA, event, "Ana")
    for name in ("Nenek Yuliana", "Nenek Yulita"):
        await register_someone_else(wa, ANA, event, name)
    code = await runtime.storage.registrations.checkin_code(event_id=event)

    await check_in_too_early_then_an_unknown_code(wa, runtime, ANA, event, code)
    sent = await wa.send(ANA, f"/hadir {code}")
    assert "Kehadiran Anda tercatat" in texts(sent)
    # Two names that look alike once cut to 20 characters: a list keeps them apart.
    proxy = [p for p in payloads(sent) if p.startswith("hdp:")]
    assert len(proxy) == 2 and sent[-1].interactive_type == "list"
    assert_fits_whatsapp(sent)
    sent = await wa.tap(ANA, proxy[0])
    assert "Nenek Yuliana tercatat hadir" in texts(sent)
    left = [p for p in payloads(sent) if p.startswith("hdp:")]
    assert left == [proxy[1]] and sent[-1].interactive_type == "button"
    assert_fits_whatsapp(sent)
    sent = await wa.send(ANA, code.lower())  # typed alone, again
    assert "sudah tercatat" in texts(sent)

    # An English resident who did not register: the code typed alone is a walk-in.
    sent = await wa.send(BUDI, code)
    assert "without registration" in texts(sent)
    counts = await runtime.storage.registrations.counts(event_id=event)
    assert (counts.attended, counts.walk_ins) == (3, 1)
    sent = await wa.send(ANA, "ENDE")  # a word that merely looks like a code
    assert "Perpustakaan di Ende" in texts(sent)


async def test_check_in_asks_for_the_code_when_sent_without_one(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, KELOR)
    now = utcnow()
    await set_event(
        runtime,
        event,
        starts_at=to_db(now + timedelta(minutes=10)),
        ends_at=to_db(now + timedelta(hours=2)),
    )
    code = await runtime.storage.registrations.checkin_code(event_id=event)
    await wa.onboard(BUDI, language="en")
    sent = await wa.send(BUDI, "/checkin")
    assert "attendance code" in texts(sent) and payloads(sent) == ["batal"]
    sent = await wa.send(BUDI, code)
    assert "without registration" in texts(sent)


async def test_stale_and_foreign_buttons_get_clear_answers(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    await stale_and_foreign_buttons_get_clear_answers(wa, runtime, ANA, BUDI, partial(own, runtime))
    assert not wa.api.uploads


async def test_batal_leaves_the_flow_at_every_step(wa: WhatsAppHarness, runtime: Runtime) -> None:
    event = await event_id(runtime, COMPUTER)
    await wa.onboard(ANA)
    await leave_the_flow_at_every_step(wa, ANA, event)
    # The ✖ button, and "Batal" typed in the name step, do the same; the text afterwards is
    # not taken as a name.
    await wa.tap(ANA, f"reg:{event}")
    sent = await wa.tap(ANA, "batal", "✖ Batal")
    assert "dibatalkan" in texts(sent)
    sent = await wa.send(ANA, "jam buka")
    assert "Jam buka" in texts(sent)
    await wa.tap(ANA, f"reg:{event}")
    sent = await wa.send(ANA, "Batal")
    assert "dibatalkan" in texts(sent)
    assert not await runtime.storage.registrations.for_resident(
        resident_id=await resident_id(runtime, user(ANA), CHANNEL), event_id=event
    )


async def test_flow_interrupted_by_a_restart_of_the_server(
    wa: WhatsAppHarness, runtime: Runtime, wa_api: FakeGraphApi, wa_clock: FakeClock
) -> None:
    event = await event_id(runtime, COMPUTER)
    await wa.onboard(ANA)
    await wa.tap(ANA, f"reg:{event}")
    await wa.send(ANA, "Ana Restart")
    await wa.tap(ANA, "rq:female")
    async with restarted(runtime, whatsapp_settings(wa_api), wa_api, wa_clock) as again:
        sent = await again.tap(ANA, "rq:36_55")
        assert "Desa/kelurahan" in texts(sent)
        sent = await again.send(ANA, "Oebobo")
        assert "Ana Restart" in texts(sent)
        # A number typed in the new process picks the summary's first choice, as shown before.
        sent = await again.send(ANA, "1")
        assert "Anda terdaftar" in texts(sent)
    assert (await runtime.storage.events.get(event_id=event)).seats_taken == 1


async def test_no_consent_and_closed_registration(wa: WhatsAppHarness, runtime: Runtime) -> None:
    event = await event_id(runtime, COMPUTER)
    await refused_without_consent(wa, BUDI, event)

    sent = await closed_while_on_the_summary(wa, runtime, ANA, event)
    assert payloads(sent) == ["my", "menu"]


def documented_templates(tmp_path: Path) -> dict[str, WhatsAppTemplate]:
    """The WHATSAPP_TEMPLATES file exactly as docs/whatsapp.md section 7 tells operators to write
    it, so the kinds and parameter names there are the ones the outbox rows really carry."""
    docs = (Path(__file__).parent.parent / "docs" / "whatsapp.md").read_text("utf-8")
    block = docs.split("```yaml\n# whatsapp-templates.yaml", 1)[1].split("```", 1)[0]
    block = block.split("\n", 1)[1]  # the rest of the comment line
    path = tmp_path / "whatsapp-templates.yaml"
    path.write_text(block, "utf-8")
    return load_templates(path)


async def _deliver_row(wa: WhatsAppHarness, runtime: Runtime, row: dict[str, object]) -> None:
    """What the delivery worker does with a rendered row: the catalog text and choices, and the
    row's params completed with the renderer's ready-to-read template parameters."""
    params = json.loads(str(row["params"]))
    rendered = await render(
        str(row["kind"]), params, str(row["language"]), runtime.translator, runtime.storage
    )
    await wa.channel.sender.send(
        Outbound(
            recipient=str(row["recipient"]),
            text=rendered.text,
            choices=rendered.choices,
            kind=str(row["kind"]),
            language=str(row["language"]),
            params={**params, **rendered.params},
        )
    )


async def test_registration_messages_outside_the_window_go_as_the_documented_templates(
    wa: WhatsAppHarness,
    runtime: Runtime,
    wa_api: FakeGraphApi,
    wa_clock: FakeClock,
    tmp_path: Path,
) -> None:
    templates = documented_templates(tmp_path)
    wa.channel.sender.settings = whatsapp_settings(wa_api, templates=templates)
    event = await event_id(runtime, COMPUTER)
    await set_event(runtime, event, capacity=1)
    await wa.onboard(ANA)
    await wa.onboard(BUDI, language="en")
    await register_and_confirm(wa, ANA, event, "Ana")
    await register_and_confirm(wa, BUDI, event, "Budi")
    # A day later, with no message from Budi since, Ana gives up her seat and the library
    # moves the event, then cancels it: Budi's 24-hour window is closed for all three messages.
    wa_clock.advance(timedelta(hours=25))
    await runtime.storage.registrations.cancel(
        registration_id=await own(runtime, ANA, event),
        resident_id=await resident_id(runtime, user(ANA), CHANNEL),
        now=utcnow(),
    )
    before = await runtime.storage.events.get(event_id=event)
    moved = before.starts_at + timedelta(days=1)
    await runtime.storage.registrations.reschedule_event(
        event_id=event, starts_at=moved, ends_at=moved + timedelta(hours=3), now=utcnow()
    )
    await runtime.storage.registrations.cancel_event(event_id=event, now=utcnow())

    rows = await runtime.storage.db.reader.fetchall(
        "SELECT kind, recipient, language, params FROM outbox WHERE recipient = ? ORDER BY id",
        (user(BUDI),),
    )
    assert [r["kind"] for r in rows] == ["promotion", "event_changed", "event_cancelled"]
    sent_before = len(wa_api.sent)
    for row in rows:
        await _deliver_row(wa, runtime, dict(row))
    promotion, changed, cancelled = wa_api.sent[sent_before:]
    moved_when = runtime.translator.when("en", moved)
    assert promotion.template_name == "pustaka_dapat_kursi"
    assert promotion.body["template"]["language"]["code"] == "en_US"
    assert promotion.template_params == ["Pelatihan Komputer Dasar", moved_when]
    # The template's two quick replies carry the first two choices: calendar and cancel.
    budi = await own(runtime, BUDI, event)
    quick = [
        c["parameters"][0]["payload"]
        for c in promotion.body["template"]["components"]
        if c["type"] == "button"
    ]
    assert quick == [f"ics:{budi}", f"rc?:{budi}"]
    assert changed.template_name == "pustaka_acara_berubah"
    assert changed.template_params[:2] == ["Pelatihan Komputer Dasar", moved_when]
    assert "Ruang multimedia" in changed.template_params[2]
    assert cancelled.template_name == "pustaka_acara_batal"
    assert cancelled.template_params == ["Pelatihan Komputer Dasar", moved_when]
    # Tapping the template's "Batal daftar" quick reply is a message: it reopens the window and
    # asks, as the button does on Telegram.
    tapped = await wa.deliver(
        BUDI, wa.message(BUDI, "button", {"payload": quick[1], "text": "Cancel registration"})
    )
    assert "cancelled by the library" in texts(tapped)
    for payload in (f"rc:{budi}", f"ics:{budi}"):
        sent = await wa.tap(BUDI, payload)
        assert "cancelled by the library" in texts(sent), payload
    assert (await runtime.storage.registrations.get(registration_id=budi)).status == "confirmed"


async def test_my_events_from_the_menu_with_more_than_ten_registrations(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    await wa.onboard(ANA)
    sent = await wa.send(ANA, "/menu")
    assert "my" in payloads(sent)  # "📋 Acara saya" is on the main menu
    me = await resident_id(runtime, user(ANA), CHANNEL)
    for slug in (COMPUTER, KELOR):
        event = await event_id(runtime, slug)
        for n in range(6):
            await runtime.storage.registrations.register(
                event_id=event,
                resident_id=me,
                name=f"Tetangga {n}" if n else "Ana",
                answers=Answers(),
                proxy=n > 0,
                proxy_limit=5,
                now=utcnow(),
            )
    sent = await wa.tap(ANA, "my", "📋 Acara saya")
    # Twelve cancel choices and the menu: a list of nine with "Lainnya", and the long text on
    # its own before it.
    assert_fits_whatsapp(sent)
    assert sent[-1].interactive_type == "list" and sent[-1].rows[-1]["title"] == "Lainnya ›"
    assert "Tetangga 5" in texts(sent)
    assert [s.type for s in sent] == ["text", "interactive"] and len(sent[0].text) > 1024
    assert sent[1].text == "Silakan pilih:"
    cancels = [r["id"] for r in sent[-1].rows if r["id"].startswith("rc?:")]
    assert len(cancels) == 9
    sent = await wa.send(ANA, "Lainnya")
    assert_fits_whatsapp(sent)
    cancels += [r["id"] for r in sent[0].rows if r["id"].startswith("rc?:")]
    assert len(set(cancels)) == 12 and "menu" in [r["id"] for r in sent[0].rows]
    # A row of the second page, picked by its place on the screen.
    sent = await wa.send(ANA, "3")
    assert payloads(sent)[0] == f"rc:{cancels[11].removeprefix('rc?:')}"


async def test_a_repeated_or_redelivered_confirm_takes_one_seat(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    event = await event_id(runtime, COMPUTER)
    await wa.onboard(ANA)
    await register_first_time(wa, ANA, event, "Ana")
    confirm = wa.message(
        ANA,
        "interactive",
        {"type": "list_reply", "list_reply": {"id": f"reg!:{event}", "title": "✅ Daftar"}},
    )
    before = len(wa.api.sent)
    # Meta delivers the same message twice (its retry), and the person taps twice quickly:
    # both webhooks arrive at once.
    again = wa.message(
        ANA,
        "interactive",
        {"type": "list_reply", "list_reply": {"id": f"reg!:{event}", "title": "✅ Daftar"}},
    )
    responses = await asyncio.gather(wa.post(confirm), wa.post(confirm), wa.post(again))
    assert [r.status for r in responses] == [200, 200, 200]
    sent = wa.api.sent[before:]
    assert len(sent) == 2  # the re-delivery is not answered at all
    assert "Anda terdaftar" in sent[0].text and "sudah terdaftar" in sent[1].text
    assert (await runtime.storage.events.get(event_id=event)).seats_taken == 1
