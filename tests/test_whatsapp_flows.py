"""Every resident flow of the foundation, through WhatsApp: the same scenarios as the Telegram
tests (test_onboarding, test_browse, test_privacy), posted as signed webhooks to the real server,
with replies checked as they reached the fake Graph API. The fake refuses anything Meta would
refuse (titles, row counts, body lengths), so every reply here also respects WhatsApp's limits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.runtime import Runtime
from handlers import paging
from tests import flow_scenarios
from tests.whatsapp_harness import WhatsAppHarness, buttons, payloads, restarted, texts

PHONE = "6281234500001"  # as Meta sends it (wa_id)
USER = "+6281234500001"  # as the bot stores it


async def _resident(runtime: Runtime):  # type: ignore[no-untyped-def]
    return await runtime.storage.residents.find(channel="whatsapp", external_id=USER)


async def test_full_onboarding_in_indonesian(wa: WhatsAppHarness, runtime: Runtime) -> None:
    sent = await wa.send(PHONE, "/start")
    assert "Selamat datang" in texts(sent)
    assert sent[-1].interactive_type == "button"
    assert payloads(sent) == ["lang:id", "lang:en"]

    sent = await wa.tap(PHONE, "lang:id", "Bahasa Indonesia")
    assert "Pemberitahuan privasi" in texts(sent)
    assert payloads(sent) == ["consent:yes", "consent:no"]
    assert await _resident(runtime) is None  # nothing stored before consent

    sent = await wa.tap(PHONE, "consent:yes", "✅ Setuju")
    assert "kabupaten/kota mana" in texts(sent)
    # 22 regencies: a list paged nine at a time with a "Lainnya" row.
    assert sent[-1].interactive_type == "list"
    rows = sent[-1].rows
    assert len(rows) == 10 and rows[-1]["title"] == "Lainnya ›"
    assert rows[-1]["description"] == "Pilihan 10–18 dari 22"

    sent = await wa.tap(PHONE, "home:ende", "Ende")
    assert "Wilayah Anda: Ende." in texts(sent)
    assert "Menu utama" in texts(sent)
    resident = await _resident(runtime)
    assert resident is not None and resident.has_consent
    assert resident.regency_code == "ende" and resident.language == "id"

    sent = await wa.send(PHONE, "/start")
    assert "Selamat datang kembali" in texts(sent)
    assert wa.api.refused == []


async def test_full_onboarding_in_english(wa: WhatsAppHarness, runtime: Runtime) -> None:
    foreign = "61412345678"  # an Australian visitor: greeted in English until they choose
    await wa.send(foreign, "/start")
    sent = await wa.tap(foreign, "lang:en")
    assert "Privacy notice" in texts(sent)
    sent = await wa.tap(foreign, "consent:yes")
    assert "Which regency" in texts(sent)
    assert sent[-1].body["interactive"]["action"]["button"] == "Choose"
    assert sent[-1].rows[-1]["title"] == "More ›"
    sent = await wa.tap(foreign, "home:sikka")
    assert "Your area: Sikka." in texts(sent) and "Main menu" in texts(sent)
    resident = await runtime.storage.residents.find(channel="whatsapp", external_id="+61412345678")
    assert resident is not None and resident.language == "en"


async def test_paging_a_long_list_with_more_reaches_every_choice(wa: WhatsAppHarness) -> None:
    await wa.send(PHONE, "/start")
    await wa.tap(PHONE, "lang:id")
    sent = await wa.tap(PHONE, "consent:yes")
    seen = [r["id"] for r in sent[-1].rows]
    pages = 1
    while seen[-1].startswith(paging.PREFIX):
        more = seen.pop()
        sent = await wa.tap(PHONE, more, "Lainnya ›")
        assert len(sent) == 1 and sent[0].interactive_type == "list"
        assert "halaman" in sent[0].text
        seen += [r["id"] for r in sent[0].rows]
        pages += 1
    assert pages == 3
    assert len(seen) == 22 and len(set(seen)) == 22 and "home:rote-ndao" in seen
    # A choice from the last page still works, and so does typing its name.
    sent = await wa.tap(PHONE, "home:rote-ndao", "Rote Ndao")
    assert "Wilayah Anda: Rote Ndao." in texts(sent)


async def test_paging_survives_a_restart(
    wa: WhatsAppHarness, runtime: Runtime, wa_api, wa_clock
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import whatsapp_settings

    await wa.send(PHONE, "/start")
    await wa.tap(PHONE, "lang:id")
    sent = await wa.tap(PHONE, "consent:yes")
    more = sent[-1].rows[-1]["id"]
    # A new process on the same database: the list is found in storage, not in memory.
    async with restarted(runtime, whatsapp_settings(wa_api), wa_api, wa_clock) as again:
        sent = await again.tap(PHONE, more, "Lainnya ›")
    assert sent[-1].rows[0]["id"] == "home:sikka"  # the tenth regency


async def test_typing_more_or_its_number_shows_the_next_page(wa: WhatsAppHarness) -> None:
    await wa.send(PHONE, "/start")
    await wa.tap(PHONE, "lang:id")
    first = (await wa.tap(PHONE, "consent:yes"))[-1].rows
    # "Lainnya" typed, as the row reads, works like tapping the row.
    sent = await wa.send(PHONE, "Lainnya")
    assert len(sent) == 1 and "halaman 2/3" in sent[0].text
    second = sent[0].rows
    assert second[0]["id"] == "home:sikka" and second[-1]["title"] == "Lainnya ›"
    # On page 2 a number counts the rows on the screen: 10 is its "Lainnya" row...
    sent = await wa.send(PHONE, "10")
    assert "halaman 3/3" in sent[0].text
    last = [r["id"] for r in sent[0].rows]  # the last four regencies, no "Lainnya" row
    assert len(last) == 4 and "home:rote-ndao" in last
    assert not set(last) & {r["id"] for r in first + second}
    # ...and 1 is the first row shown, not the first regency of page 1.
    picked = sent[0].rows[0]["title"]
    sent = await wa.send(PHONE, "1")
    assert f"Wilayah Anda: {picked}." in texts(sent)


async def test_typed_more_after_a_restart_continues_from_the_page_shown(
    wa: WhatsAppHarness, runtime: Runtime, wa_api, wa_clock
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import whatsapp_settings

    await wa.send(PHONE, "/start")
    await wa.tap(PHONE, "lang:id")
    await wa.tap(PHONE, "consent:yes")
    await wa.send(PHONE, "Lainnya")
    async with restarted(runtime, whatsapp_settings(wa_api), wa_api, wa_clock) as again:
        sent = await again.send(PHONE, "lainnya")
        assert "halaman 3/3" in sent[0].text


async def test_typed_more_on_the_first_page_in_english_and_stale_lists(
    wa: WhatsAppHarness,
) -> None:
    foreign = "61412345678"
    await wa.send(foreign, "/start")
    await wa.tap(foreign, "lang:en")
    await wa.tap(foreign, "consent:yes")
    sent = await wa.send(foreign, "10")  # the tenth row of the first page is "More ›"
    assert "page 2/3" in sent[0].text
    sent = await wa.send(foreign, "more")
    assert "page 3/3" in sent[0].text
    # Nothing after the last page: "More" is no regency, so the step asks again (with the
    # list); once another reply has replaced the list, it is ordinary text for free text.
    sent = await wa.send(foreign, "more")
    assert "do not know that area" in texts(sent) and "Which regency" in texts(sent)
    await wa.tap(foreign, "home:alor")
    sent = await wa.send(foreign, "More")
    assert "didn't understand" in texts(sent)


async def test_a_more_row_from_an_old_list_gets_the_expired_answer(wa: WhatsAppHarness) -> None:
    await wa.onboard(PHONE)
    sent = await wa.tap(PHONE, f"{paging.PREFIX}01234567:1", "Lainnya ›")
    assert "kedaluwarsa" in texts(sent)


async def test_declining_consent_still_lets_people_browse(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    my_data = await flow_scenarios.declining_consent_still_lets_people_browse(
        wa, PHONE, lambda: _resident(runtime)
    )
    assert "whatsapp" in texts(my_data)


async def test_typing_the_number_or_words_of_a_choice_picks_it(wa: WhatsAppHarness) -> None:
    await flow_scenarios.typing_the_number_or_words_of_a_choice_picks_it(wa, PHONE)


async def test_libraries_near_me_come_first_with_their_details(wa: WhatsAppHarness) -> None:
    await wa.onboard(PHONE, regency="ende")
    sent = await wa.send(PHONE, "/layanan")
    first = buttons(sent)[0]
    assert "Ende" in first[0] or "Ende" in sent[-1].rows[0].get("description", "")
    await flow_scenarios.open_library(wa, PHONE, first[1])


async def test_events_list_and_details_in_both_languages(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    await flow_scenarios.events_list_and_details_in_both_languages(wa, PHONE, runtime)


async def test_many_events_are_paged_under_whatsapp_limits(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    await flow_scenarios.add_bulk_events(runtime, 60)
    await wa.onboard(PHONE)
    sent = await wa.tap(PHONE, "evs:*:*:30:0")
    pages = 0
    while True:
        assert sent and wa.api.refused == []
        # Long labels: the row title is cut on a word, the rest goes to the description.
        event_rows = [r for r in sent[-1].rows if r["id"].startswith("ev:")]
        assert event_rows and all(
            r["title"].startswith(("1.", "2.", "3.", "4.", "5.")) for r in event_rows
        )
        assert all("description" in r for r in event_rows)
        pages += 1
        nxt = [p for label, p in sent[-1].buttons if "Berikutnya" in label]
        if not nxt:
            break
        sent = await wa.tap(PHONE, nxt[0])
    assert pages >= 60 // 5
    sent = await wa.tap(PHONE, "ev:" + event_rows[0]["id"][3:])
    assert all(len(s.text) <= 4096 for s in sent)


async def test_category_filter(wa: WhatsAppHarness) -> None:
    await flow_scenarios.category_filter(wa, PHONE)


async def test_stale_or_meaningless_buttons_get_the_expired_answer(wa: WhatsAppHarness) -> None:
    await flow_scenarios.stale_or_meaningless_buttons_get_the_expired_answer(wa, PHONE)


async def test_free_text_never_meets_silence(wa: WhatsAppHarness) -> None:
    cases = {
        "jam buka": "Jam buka",
        "acara minggu ini": "7 hari",
        "halo": "Halo",
        "Ende": "Perpustakaan di Ende",
        "tenun": "Tenun ikat",
        "asdfgh qwerty": "belum mengerti",
    }
    await flow_scenarios.free_text_never_meets_silence(wa, PHONE, cases)


async def test_my_data_shows_the_phone_number(wa: WhatsAppHarness) -> None:
    await wa.onboard(PHONE, regency="alor")
    sent = await wa.send(PHONE, "/datasaya")
    text = texts(sent)
    assert USER in text and "whatsapp" in text and "Alor" in text and "WITA" in text


async def test_delete_my_data_after_confirmation(wa: WhatsAppHarness, runtime: Runtime) -> None:
    await wa.onboard(PHONE, language="en", regency="alor")
    await flow_scenarios.declining_deletion_keeps_my_data(wa, PHONE)
    await flow_scenarios.deleting_my_data_after_confirmation(wa, PHONE, lambda: _resident(runtime))


async def test_stop_and_resume_announcements(wa: WhatsAppHarness, runtime: Runtime) -> None:
    sent = await flow_scenarios.stop_and_resume_announcements(wa, PHONE, lambda: _resident(runtime))
    # "🔔 Aktifkan pengumuman lagi" is too long for a button: cut on a word, with an ellipsis.
    titles = [title for title, _ in buttons(sent)]
    assert all(len(t) <= 20 for t in titles) and titles[0].endswith("…")


async def test_cancel_leaves_any_flow(wa: WhatsAppHarness) -> None:
    await flow_scenarios.cancel_leaves_any_flow(wa, PHONE)


async def test_the_window_opened_by_a_message_closes_after_24_hours(
    wa: WhatsAppHarness, wa_clock
) -> None:  # type: ignore[no-untyped-def]
    from bot.channels.base import Outbound, OutsideWindow
    from handlers.types import Choice

    await wa.onboard(PHONE)
    reminder = Outbound(
        recipient=USER,
        text="Pengingat: Kelas komputer besok. Masih bisa datang?",
        choices=(Choice("Ya, saya datang", "rem:yes:1"), Choice("Batal", "rem:no:1")),
        kind="reminder",
        params={"event": "Kelas komputer", "when": "besok"},
    )
    before = len(wa.api.sent)
    await wa.channel.sender.send(reminder)
    assert wa.api.sent[before].interactive_type == "button"  # free-form inside the window

    wa_clock.advance(timedelta(hours=24, seconds=1))
    await wa.channel.sender.send(reminder)
    assert wa.api.sent[-1].template_name == "pustaka_pengingat"
    with pytest.raises(OutsideWindow):
        await wa.channel.sender.send(
            Outbound(recipient=USER, text="Pengumuman", kind="announcement")
        )

    # Tapping the template's quick reply is a message: the window opens again.
    sent = await wa.deliver(PHONE, wa.message(PHONE, "button", {"payload": "menu", "text": "Menu"}))
    assert "Menu utama" in texts(sent)
    await wa.channel.sender.send(reminder)
    assert wa.api.sent[-1].interactive_type == "button"


async def test_unknown_commands_and_oversized_text(wa: WhatsAppHarness) -> None:
    await flow_scenarios.unknown_command_and_oversized_text(wa, PHONE)
