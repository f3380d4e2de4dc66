"""Announcement photos on WhatsApp (issue 11): the photo a librarian sends is fetched from the
Cloud API once, uploaded to its media endpoint once, and sent to every resident by that media id,
through signed webhooks to the real server and the fake Graph API."""

from __future__ import annotations

import json

from bot.channels.base import Outbound
from bot.runtime import Runtime
from handlers.types import Document
from storage.clock import utcnow
from tests.fakes.whatsapp_api import FakeGraphApi
from tests.whatsapp_harness import WhatsAppHarness, texts

LIBRARIAN = "6281234580001"
ANA, BUDI = "6281234580002", "6281234580003"
# The smallest valid PNG (1×1): Meta checks the type, the fake the declared type and size.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def test_an_announcement_photo_is_uploaded_once_and_sent_by_media_id(
    wa: WhatsAppHarness, runtime: Runtime, wa_api: FakeGraphApi
) -> None:
    await runtime.storage.staff.seed_admins([("whatsapp", "+" + LIBRARIAN)], now=utcnow())
    for phone in (LIBRARIAN, ANA, BUDI):
        await wa.onboard(phone, regency="kupang")
    wa_api.received_media["photo-lomba"] = (PNG, "image/png")

    await wa.send(LIBRARIAN, "/siaran")
    image = {"id": "photo-lomba", "mime_type": "image/png", "sha256": "x"}
    caption = "Lomba mewarnai untuk anak-anak, Sabtu pagi."
    sent = await wa.deliver(LIBRARIAN, wa.message(LIBRARIAN, "image", image | {"caption": caption}))
    assert "hanya bisa membaca pesan teks" not in texts(sent)
    preview = await wa.tap(LIBRARIAN, "bc:a:all")
    shown = [s for s in preview if s.type == "image"]
    assert len(shown) == 1 and caption in shown[0].text
    await wa.tap(LIBRARIAN, "bc:now")
    await wa.tap(LIBRARIAN, "bc:ok")

    rows = await runtime.storage.db.fetchall(
        "SELECT recipient, body, kind, language FROM outbox "
        "WHERE channel = 'whatsapp' AND kind = 'announcement' ORDER BY id"
    )
    assert {r["recipient"] for r in rows} >= {"+" + ANA, "+" + BUDI}
    for row in rows:
        body = json.loads(row["body"])
        await wa.channel.sender.send(
            Outbound(
                row["recipient"],
                body["text"],
                photo=body.get("photo"),
                kind=row["kind"],
                language=row["language"],
            )
        )
    for phone in (ANA, BUDI):
        (message,) = wa_api.to(phone)[-1:]
        assert message.type == "image" and caption in message.text
        assert message.body["image"]["id"] == shown[0].body["image"]["id"]
    # Fetched from Meta once and uploaded once, however many people it goes to.
    assert wa_api.downloads == ["photo-lomba"]
    assert [u["type"] for u in wa_api.uploads] == ["image/png"]
    assert wa_api.refused == []


async def test_a_photo_from_another_channel_goes_through_the_loader_or_the_text_goes_alone(
    wa: WhatsAppHarness, wa_api: FakeGraphApi
) -> None:
    await wa.onboard(ANA)
    sender = wa.channel.sender
    announcement = Outbound("+" + ANA, "Pameran buku.", photo="AgACtelegram", kind="announcement")
    await sender.send(announcement)  # no way to fetch a Telegram file: the text alone
    assert wa_api.to(ANA)[-1].type == "text"

    async def loader(file_id: str) -> Document:
        assert file_id == "AgACtelegram"
        return Document("foto.png", PNG, "image/png")

    sender.photo_loader = loader
    await sender.send(announcement)
    assert wa_api.to(ANA)[-1].type == "image"
    assert wa_api.to(ANA)[-1].text == "Pameran buku."
