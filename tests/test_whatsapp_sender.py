"""WhatsAppSender as the outbox worker will use it: the 24-hour window, templates outside it,
OutsideWindow without one, the daily limit of people reached, Graph API errors mapped to the
worker's SendErrors, documents, and the throughput bucket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from bot.channels.base import (
    Deferred,
    Outbound,
    OutsideWindow,
    PermanentError,
    RateLimited,
    TransientError,
    Unreachable,
)
from bot.channels.whatsapp import (
    GraphApi,
    WhatsAppDailyLimit,
    WhatsAppSender,
)
from bot.config_whatsapp import WhatsAppSettings
from bot.runtime import Runtime
from handlers.phone_numbers import normalise_phone
from handlers.types import Choice, Document
from storage.whatsapp import WhatsAppRepo
from tests.conftest import whatsapp_settings
from tests.fakes.whatsapp_api import FakeGraphApi, graph_error
from tests.whatsapp_harness import FakeClock

PHONE = "+6281234500003"
CHOICES = (Choice("Ya, saya datang", "rem:yes:1"), Choice("Batal", "rem:no:1"))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _sender(
    runtime: Runtime,
    api: FakeGraphApi,
    http: aiohttp.ClientSession,
    clock: FakeClock,
    settings: WhatsAppSettings | None = None,
) -> WhatsAppSender:
    settings = settings or whatsapp_settings(api)
    repo = WhatsAppRepo(runtime.storage.db)
    return WhatsAppSender(settings, GraphApi(settings, http), repo, runtime.translator, clock=clock)


def _reminder(recipient: str = PHONE, **changes: object) -> Outbound:
    values: dict[str, object] = {
        "recipient": recipient,
        "text": "Pengingat: Kelas komputer besok.\n\nMasih bisa datang?",
        "choices": CHOICES,
        "kind": "reminder",
        "language": "id",
        "params": {"event": "Kelas komputer", "when": "Sabtu, 12 Desember 2026 pukul 09.00 WITA"},
    }
    values.update(changes)
    return Outbound(**values)  # type: ignore[arg-type]


async def _wrote(runtime: Runtime, clock: FakeClock, phone: str = PHONE) -> None:
    await WhatsAppRepo(runtime.storage.db).record_inbound(phone=phone, at=clock.now)


async def test_inside_the_window_the_message_goes_free_form(
    runtime: Runtime, wa_api: FakeGraphApi, http: aiohttp.ClientSession, wa_clock: FakeClock
) -> None:
    sender = _sender(runtime, wa_api, http, wa_clock)
    await _wrote(runtime, wa_clock)
    wa_clock.advance(timedelta(hours=23, minutes=59))
    message_id = await sender.send(_reminder())
    sent = wa_api.to(PHONE)
    assert [s.type for s in sent] == ["interactive"]
    assert sent[0].buttons == [("Ya, saya datang", "rem:yes:1"), ("Batal", "rem:no:1")]
    assert message_id and message_id.startswith("wamid.")


async def test_outside_the_window_the_configured_template_is_sent(
    runtime: Runtime, wa_api: FakeGraphApi, http: aiohttp.ClientSession, wa_clock: FakeClock
) -> None:
    sender = _sender(runtime, wa_api, http, wa_clock)
    await _wrote(runtime, wa_clock)
    wa_clock.advance(timedelta(hours=24, seconds=1))
    await sender.send(_reminder(language="en", params={"event": "Computer\nclass", "when": "x"}))
    (sent,) = wa_api.to(PHONE)
    template = sent.body["template"]
    assert template["name"] == "pustaka_pengingat" and template["language"] == {"code": "en_US"}
    # Parameters in the configured order, new lines flattened as Meta requires.
    assert sent.template_params == ["Computer class", "x"]
    quick = [c for c in template["components"] if c["type"] == "button"]
    assert [c["parameters"][0]["payload"] for c in quick] == ["rem:yes:1", "rem:no:1"]

    # Someone who never wrote is outside the window too.
    await sender.send(_reminder(recipient="+6281299999999"))
    assert wa_api.to("+6281299999999")[0].template_name == "pustaka_pengingat"


async def test_outside_the_window_without_a_template_the_row_is_held(
    runtime: Runtime, wa_api: FakeGraphApi, http: aiohttp.ClientSession, wa_clock: FakeClock
) -> None:
    sender = _sender(runtime, wa_api, http, wa_clock)
    with pytest.raises(OutsideWindow, match="announcement"):
        await sender.send(_reminder(kind="announcement"))
    with pytest.raises(PermanentError, match="when"):
        await sender.send(_reminder(params={"event": "Kelas"}))
    assert wa_api.sent == []


async def test_the_daily_limit_of_people_reached_outside_the_window(
    runtime: Runtime, wa_api: FakeGraphApi, http: aiohttp.ClientSession, wa_clock: FakeClock
) -> None:
    sender = _sender(runtime, wa_api, http, wa_clock, whatsapp_settings(wa_api, daily_limit=2))
    await sender.send(_reminder(recipient="+6281200000001"))
    await sender.send(_reminder(recipient="+6281200000002"))
    await sender.send(_reminder(recipient="+6281200000001"))  # the same person counts once
    with pytest.raises(WhatsAppDailyLimit) as caught:
        await sender.send(_reminder(recipient="+6281200000003"))
    # Only this row waits; the worker does not pause the channel for it.
    assert isinstance(caught.value, Deferred) and not isinstance(caught.value, RateLimited)
    assert caught.value.retry_after == pytest.approx(24 * 3600, abs=1)
    # People inside their window are not limited.
    await _wrote(runtime, wa_clock, "+6281200000004")
    await sender.send(_reminder(recipient="+6281200000004"))
    # A send that fails gives its place back.
    wa_clock.advance(timedelta(hours=24, seconds=1))
    wa_api.fail_next.append((400, graph_error(131026, "Message undeliverable")))
    with pytest.raises(Unreachable):
        await sender.send(_reminder(recipient="+6281200000005"))
    repo = WhatsAppRepo(runtime.storage.db)
    assert await repo.outside_reach_count(now=wa_clock.now) == 0
    # The next day the allowance is back.
    await sender.send(_reminder(recipient="+6281200000003"))
    assert len(wa_api.to("+6281200000003")) == 1


async def test_network_errors_are_transient(
    runtime: Runtime, wa_api: FakeGraphApi, http: aiohttp.ClientSession, wa_clock: FakeClock
) -> None:
    url = wa_api.url
    await wa_api.stop()  # nothing listens there any more
    sender = _sender(runtime, wa_api, http, wa_clock, whatsapp_settings(wa_api, api_url=url))
    await _wrote(runtime, wa_clock)
    with pytest.raises(TransientError):
        await sender.send(_reminder())


async def test_documents_are_uploaded_then_sent_by_media_id(
    runtime: Runtime, wa_api: FakeGraphApi, http: aiohttp.ClientSession, wa_clock: FakeClock
) -> None:
    sender = _sender(runtime, wa_api, http, wa_clock)
    await _wrote(runtime, wa_clock)
    document = Document("peserta.csv", b"nama,desa\nAna,Oebelo\n", "text/csv")
    await sender.send(_reminder(text="Daftar peserta", choices=(), document=document))
    assert wa_api.uploads == [
        {
            "filename": "peserta.csv",
            "content": b"nama,desa\nAna,Oebelo\n",
            # Meta takes no text/csv: plain text under the .csv name.
            "type": "text/plain",
            "messaging_product": "whatsapp",
        }
    ]
    (sent,) = wa_api.to(PHONE)
    assert sent.body["document"] == {
        "id": "media-1",
        "filename": "peserta.csv",
        "caption": "Daftar peserta",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("6281234567890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("081234567890", "+6281234567890"),
        ("0061412345678", "+61412345678"),
    ],
)
def test_phone_numbers_are_normalised(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


def test_nonsense_is_not_a_phone_number() -> None:
    with pytest.raises(ValueError):
        normalise_phone("12")


async def test_a_recipient_that_is_no_phone_number_fails_the_row(
    runtime: Runtime, wa_api: FakeGraphApi, http: aiohttp.ClientSession, wa_clock: FakeClock
) -> None:
    sender = _sender(runtime, wa_api, http, wa_clock)
    with pytest.raises(PermanentError):
        await sender.send(_reminder(recipient="not-a-number"))
