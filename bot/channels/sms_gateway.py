"""HTTP SMS gateways behind one interface, `SmsGateway`: hand it one text for one number.

First implementation: SMS Gateway for Android (github.com/capcom6/android-sms-gateway), an
Android phone with a SIM card at the library. Its local server (http://<phone>:8080) and its
cloud server (https://api.sms-gate.app/3rdparty/v1) take the same request:

    POST {url}/message   (HTTP basic auth: the user and password the app shows)
    {"id": "...", "textMessage": {"text": "..."}, "phoneNumbers": ["+62812..."],
     "withDeliveryReport": true}
    -> 202 {"id": "...", "state": "Pending", "recipients": [{"phoneNumber": ..., "state": ...}]}

409 means a message with that id is already queued (our retry after a lost answer), 503 that the
device's queue is full or it is offline. A licensed Indonesian SMS aggregator's HTTP API would be
a second class with the same `send`, chosen in bot/wiring.py.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any, Protocol

import aiohttp

from bot.channels.base import PermanentError, RateLimited, SendError, TransientError

log = logging.getLogger(__name__)


class SmsGateway(Protocol):
    async def send(self, *, phone: str, text: str, message_id: str) -> str:
        """Queue one SMS; the gateway's id for it (delivery reports name it). Raises SendError
        subclasses: RateLimited, TransientError (retry later), PermanentError."""
        ...


class AndroidSmsGateway:
    def __init__(self, url: str, user: str, password: str, session: aiohttp.ClientSession) -> None:
        self._url = f"{url.rstrip('/')}/message"
        credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {credentials}"}
        self._session = session

    async def send(self, *, phone: str, text: str, message_id: str) -> str:
        body = {
            "id": message_id,
            "textMessage": {"text": text},
            "phoneNumbers": [phone],
            "withDeliveryReport": True,
        }
        try:
            async with self._session.post(self._url, json=body, headers=self._headers) as response:
                status = response.status
                answer = await response.text()
                retry_after = response.headers.get("Retry-After", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"network error talking to the SMS gateway: {exc!r}") from exc
        data = _json(answer)
        if status in (200, 201, 202):
            given = data.get("id")
            return str(given) if isinstance(given, str) and given else message_id
        if status == 409:
            return message_id  # already queued under our id: sending again would be a duplicate
        raise gateway_error(status, data, retry_after)


def gateway_error(status: int, data: dict[str, Any], retry_after: str = "") -> SendError:
    detail = f"HTTP {status}: {data.get('message') or data.get('error') or ''}".strip()
    if status == 429:
        return RateLimited(float(retry_after) if retry_after.isdigit() else 60.0, detail)
    if status in (401, 403):
        log.error("the SMS gateway refused our credentials; check SMS_GATEWAY_USER/PASSWORD")
        return PermanentError(detail)
    if status >= 500:
        return TransientError(detail)  # 503: the phone's queue is full or it is offline
    return PermanentError(detail)


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
