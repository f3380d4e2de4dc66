"""Drive the real webhook server with payloads shaped like Meta's documented examples, signed
with the app secret; replies cross real HTTP to the fake Graph API."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.channels.whatsapp import WhatsAppChannel
from bot.config_whatsapp import WhatsAppSettings
from bot.runtime import Runtime
from bot.web import WebServer, build_app
from storage.clock import utcnow
from tests.fakes.whatsapp_api import PHONE_NUMBER_ID, FakeGraphApi, Sent

APP_SECRET = "app-secret-for-tests"
# Meta's message ids are unique; one counter for every harness, so a second harness on the same
# database (a restarted server) does not send ids the first one already used (they would be
# ignored as re-deliveries).
_MESSAGE_IDS = itertools.count(1)
VERIFY_TOKEN = "verify-me"


class FakeClock:
    """The channel's notion of now, moved by tests to open and close the 24-hour window."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def envelope(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


class WhatsAppHarness:
    def __init__(
        self,
        channel: WhatsAppChannel,
        url: str,
        api: FakeGraphApi,
        http: aiohttp.ClientSession,
        clock: FakeClock,
    ) -> None:
        self.channel = channel
        self.url = url
        self.api = api
        self.http = http
        self.clock = clock

    def message(self, phone: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
        """One inbound message from `phone` (digits, as Meta's wa_id), e.g. kind "text".

        A business-scoped user id instead of digits ("ID.1234…") is someone who adopted a
        username: Meta sends `from_user_id` and no `from` (and the replies go to `recipient`)."""
        message_id = f"wamid.IN{next(_MESSAGE_IDS):08d}"
        sender: dict[str, Any] = {"from": phone}
        contact: dict[str, Any] = {"profile": {"name": "Warga"}, "wa_id": phone}
        if not phone.lstrip("+").isdigit():
            sender = {"from_user_id": phone}
            contact = {"profile": {"name": "Warga", "username": "@warga"}, "user_id": phone}
        return envelope(
            {
                "contacts": [contact],
                "messages": [
                    {
                        **sender,
                        "id": message_id,
                        "timestamp": str(int(self.clock.now.timestamp())),
                        "type": kind,
                        kind: content,
                    }
                ],
            }
        )

    async def post(
        self, payload: dict[str, Any] | bytes, *, signature: str | None = "valid"
    ) -> aiohttp.ClientResponse:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "valid":
            headers["X-Hub-Signature-256"] = sign(body)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        async with self.http.post(
            f"{self.url}/webhooks/whatsapp", data=body, headers=headers
        ) as response:
            await response.read()
        # Meta has its 200; wait for the background handling to finish before looking.
        await self.channel.drain()
        return response

    async def deliver(self, phone: str, payload: dict[str, Any]) -> list[Sent]:
        before = len(self.api.sent)
        response = await self.post(payload)
        assert response.status == 200
        return [s for s in self.api.sent[before:] if s.to == phone]

    async def send(self, phone: str, text: str) -> list[Sent]:
        return await self.deliver(phone, self.message(phone, "text", {"body": text}))

    async def tap(self, phone: str, payload: str, title: str = "…") -> list[Sent]:
        """A reply button (the ids of list rows come back the same way, as list_reply)."""
        kind = "list_reply" if payload.startswith("~") else "button_reply"
        content = {"type": kind, kind: {"id": payload, "title": title}}
        return await self.deliver(phone, self.message(phone, "interactive", content))

    async def onboard(self, phone: str, *, language: str = "id", regency: str = "ende") -> None:
        await self.send(phone, "/start")
        await self.tap(phone, f"lang:{language}")
        await self.tap(phone, "consent:yes")
        await self.tap(phone, f"home:{regency}")


def texts(sent: list[Sent]) -> str:
    return "\n---\n".join(s.text for s in sent)


def buttons(sent: list[Sent]) -> list[tuple[str, str]]:
    return [b for s in sent for b in s.buttons]


def payloads(sent: list[Sent]) -> list[str]:
    return [p for _, p in buttons(sent)]


@asynccontextmanager
async def restarted(
    runtime: Runtime, settings: WhatsAppSettings, api: FakeGraphApi, clock: FakeClock
) -> AsyncIterator[WhatsAppHarness]:
    """A new process on the same database: new Runtime, channel and webhook server."""
    again = await Runtime.open(runtime.settings)
    channel = WhatsAppChannel(
        settings, again.dispatcher, again.translator, again.storage.whatsapp, clock=clock
    )
    await channel.start()
    server = WebServer(build_app(channel.routes(), ["whatsapp"]))
    port = await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            yield WhatsAppHarness(channel, f"http://127.0.0.1:{port}", api, http, clock)
    finally:
        await server.stop()
        await channel.close()
        await again.close()
