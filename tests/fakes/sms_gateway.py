"""A fake SMS Gateway for Android on loopback, speaking its real request and webhook shapes
(github.com/capcom6/android-sms-gateway: README, swagger.json, PayloadSingingPlugin.kt).

Sending: `POST /message` with HTTP basic auth and {"id", "textMessage": {"text"},
"phoneNumbers": [...], "withDeliveryReport"}; answers 202 with {"id", "state": "Pending",
"recipients": [...]}, 409 for an id already queued, 401 for wrong credentials, 400 for a
malformed body. Webhooks: `signed_event` builds the envelope {"id", "webhookId", "event",
"deviceId", "payload"} and the X-Signature (hex HMAC-SHA256 of body + timestamp) and X-Timestamp
headers the app sends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

USER = "sms"
PASSWORD = "gateway-pass"
SECRET = "webhook-signing-key"
DEVICE_ID = "ffffffffceb0b1db0000018e937c815b"


@dataclass
class SentSms:
    id: str
    phone: str
    text: str


class FakeSmsGateway:
    def __init__(self) -> None:
        self.sent: list[SentSms] = []
        self.refusals = 0
        self._ids: set[str] = set()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> FakeSmsGateway:
        app = web.Application()
        app.router.add_post("/message", self._message)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def to(self, phone: str) -> list[str]:
        return [sms.text for sms in self.sent if sms.phone == phone]

    async def _message(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            self.refusals += 1
            return web.json_response({"message": "Unauthorized"}, status=401)
        try:
            body = await request.json()
            text = body["textMessage"]["text"] if "textMessage" in body else body["message"]
            phones = body["phoneNumbers"]
            assert isinstance(text, str) and text
            assert isinstance(phones, list) and 1 <= len(phones) <= 100
            assert all(isinstance(p, str) for p in phones)
        except (ValueError, KeyError, TypeError, AssertionError):
            self.refusals += 1
            return web.json_response({"message": "Invalid request"}, status=400)
        message_id = body.get("id") or secrets.token_urlsafe(15)
        if len(message_id) > 36:
            return web.json_response({"message": "id too long"}, status=400)
        if message_id in self._ids:
            return web.json_response({"message": "Message with such ID already exists"}, 409)
        self._ids.add(message_id)
        for phone in phones:
            self.sent.append(SentSms(message_id, phone, text))
        return web.json_response(
            {
                "id": message_id,
                "deviceId": DEVICE_ID,
                "state": "Pending",
                "isHashed": False,
                "isEncrypted": False,
                "recipients": [{"phoneNumber": p, "state": "Pending"} for p in phones],
                "states": {},
            },
            status=202,
        )


def signed_event(
    event: str,
    payload: dict[str, Any],
    *,
    event_id: str | None = None,
    secret: str = SECRET,
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one webhook call as the app makes it."""
    envelope = {
        "id": event_id or secrets.token_urlsafe(15),
        "webhookId": "pustaka",
        "event": event,
        "deviceId": DEVICE_ID,
        "payload": payload,
    }
    body = json.dumps(envelope).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = hmac.new(secret.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-Signature": signature,
        "X-Timestamp": stamp,
    }


def received(phone: str, text: str, **extra: Any) -> dict[str, Any]:
    """An `sms:received` payload."""
    return {
        "messageId": secrets.token_hex(6),
        "message": text,
        "sender": phone,
        "recipient": None,
        "phoneNumber": phone,
        "simNumber": 1,
        "receivedAt": "2026-12-01T09:41:31.000+08:00",
        **extra,
    }
