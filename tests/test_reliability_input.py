"""What fuzzing found in the input path (issue 15), each through the real path: text cleaned once
at the core's door, exports that survive any name, calendar files without injected lines,
malformed webhooks refused with 400, crafted payloads answered as expired, and nothing but the
chat id kept before consent."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from openpyxl import load_workbook

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_webhook import SECRET_HEADER, TelegramWebhook
from bot.runtime import Runtime
from bot.web import WebServer, build_app
from handlers.ics import event_ics
from handlers.staff.registrations import to_xlsx
from storage.clock import utcnow
from tests.fakes.telegram_api import FakeBotApi
from tests.registration_scenarios import (
    COMPUTER,
    event_id,
    own_registration,
    register_and_confirm,
)
from tests.telegram_harness import TelegramHarness, payloads, texts
from tests.whatsapp_harness import WhatsAppHarness, sign

USER = 8501
SECRET = "reliab-secret_1"


def _error(runtime: Runtime) -> str:
    return runtime.translator.text("id", "common.error")


def _expired(runtime: Runtime) -> str:
    return runtime.translator.text("id", "common.expired")


async def test_circled_and_superscript_digits_pick_the_choice_they_show(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await tg.onboard(USER)
    menu = await tg.send(USER, "/menu")
    shown = payloads(menu)
    # "①" and "²" are what some keyboards offer for 1 and 2: they pick those choices.
    first = await tg.send(USER, "①")
    assert _error(runtime) not in texts(first)
    await tg.send(USER, "/menu")
    second = await tg.send(USER, "²")
    assert _error(runtime) not in texts(second)
    assert shown[0] == "libs:0" and shown[1].startswith("evs:")
    assert payloads(second) != payloads(first)
    # Digits of other scripts, one that int() refuses although str.isdigit() accepts it.
    for typed in ("𐩀", "٢", "८૪\x99𐩀"):
        await tg.send(USER, "/menu")
        assert _error(runtime) not in texts(await tg.send(USER, typed))


async def test_control_bidi_and_surrogates_never_reach_a_stored_name(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await tg.onboard(USER)
    event = await event_id(runtime, COMPUTER)
    replies = await register_and_confirm(tg, USER, event, "Ana\x01Budi\u202e\u200b \ud800")
    assert _error(runtime) not in texts(replies)
    registration = await runtime.storage.registrations.get(
        registration_id=await own_registration(runtime, USER, event)
    )
    assert registration.name == "AnaBudi \ufffd"


def test_the_xlsx_writer_drops_characters_excel_cannot_hold() -> None:
    # Rows stored before the input was cleaned still export (openpyxl refused the whole file).
    content = to_xlsx(["Nama"], [["Ana\x01Budi"]], "Kelas\x02")
    sheet = load_workbook(io.BytesIO(content)).active
    assert [c.value for c in sheet["A"]] == ["Nama", "AnaBudi"]


def test_a_lone_carriage_return_cannot_start_a_calendar_line() -> None:
    now = utcnow()
    ics = event_ics(
        uid="1@pustaka",
        title="Kelas",
        starts_at=now,
        ends_at=now,
        location="Ende",
        description="Bawa KTP\rATTENDEE:mailto:x@example.com\x07",
        created_at=now,
    ).decode()
    lines = ics.split("\r\n")
    assert not any(line.startswith("ATTENDEE") for line in lines)
    assert "\r" not in ics.replace("\r\n", "") and "\x07" not in ics
    assert any("Bawa KTP\\nATTENDEE" in line for line in lines)


@pytest.mark.parametrize(
    "payload",
    [
        "ev:123456789012345678901234567",  # would overflow SQLite's integer binding
        "hdp:99999999999999999999",
        "rc?:123456789012345678901",
        "evc:" + "x" * 50 + ":30",  # reflected into an `evs:` payload over 64 bytes
        "evc:" + "kupang" * 6 + ":30",
    ],
)
async def test_crafted_payloads_are_expired_not_errors(
    tg: TelegramHarness, runtime: Runtime, payload: str
) -> None:
    await tg.onboard(USER)
    replies = await tg.tap(USER, payload)
    assert texts(replies).startswith(_expired(runtime).split("\n")[0])


async def test_nothing_but_the_chat_id_is_kept_for_someone_who_declines(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    tg.usernames[USER] = "Maria_Kupang"
    await tg.send(USER, "/start")
    await tg.tap(USER, "lang:id")
    await tg.tap(USER, "consent:no")
    await tg.send(USER, "/menu")
    rows = await runtime.storage.db.fetchall("SELECT state FROM sessions")
    assert rows and all("maria_kupang" not in row[0].casefold() for row in rows)
    # After agreeing, the username is kept (admins name people by it).
    await tg.send(USER, "/privasi")
    await tg.tap(USER, "consent:yes")
    await tg.tap(USER, "home:ende")
    rows = await runtime.storage.db.fetchall("SELECT state FROM sessions")
    assert any("maria_kupang" in row[0] for row in rows)


@pytest.fixture
async def telegram_web(runtime: Runtime, fake_api: FakeBotApi) -> AsyncIterator[str]:
    app = TelegramChannel(runtime.settings, runtime.dispatcher, runtime.translator).build()
    webhook = TelegramWebhook(app, SECRET)
    server = WebServer(build_app(webhook.routes(), ["telegram"]))
    port = await server.start("127.0.0.1", 0)
    async with app:
        yield f"http://127.0.0.1:{port}/webhooks/telegram"
    await server.stop()


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"1",
        b"null",
        b'"x"',
        b'{"update_id":1,"message":"str"}',
        b'{"update_id":1,"callback_query":[1]}',
        b'{"update_id":"1"}',
        b"[" * 1000 + b"]" * 1000,
        b'{"update_id":1,"message":' + b"{" * 2000 + b"}" * 2000 + b"}",
        b"\xff\xfe",
    ],
)
async def test_malformed_telegram_webhooks_get_400(telegram_web: str, body: bytes) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(telegram_web, data=body, headers={SECRET_HEADER: SECRET}) as response,
    ):
        assert response.status == 400


@pytest.mark.parametrize(
    "body", [b"[" * 1000 + b"]" * 1000, b'{"entry":' + b"[" * 5000 + b"]" * 5000 + b"}"]
)
async def test_deeply_nested_whatsapp_webhooks_get_400(wa: WhatsAppHarness, body: bytes) -> None:
    response = await wa.post(body, signature=sign(body))
    assert response.status == 400


async def test_a_lone_surrogate_from_whatsapp_is_answered(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    phone = "6281234567001"
    message = wa.message(phone, "text", {"body": "halo"})
    body = json.dumps(message).replace("halo", "halo \\ud800").encode()
    before = len(wa.api.sent)
    response = await wa.post(body, signature=sign(body))
    assert response.status == 200
    sent = [s for s in wa.api.sent[before:] if s.to == phone]
    assert sent and _error(runtime) not in " ".join(s.text for s in sent)
