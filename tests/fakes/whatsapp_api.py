"""A fake WhatsApp Cloud (Graph) API on loopback: records what is sent, refuses what Meta would
refuse (titles too long, too many buttons or rows, duplicate titles), and answers errors on
request, shaped like Graph API errors."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

VERSION = "v21.0"
PHONE_NUMBER_ID = "106540352242922"
TOKEN = "EAAtest-token"


def _width(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Sent:
    to: str
    body: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.body.get("type"))

    @property
    def interactive_type(self) -> str | None:
        return self.body.get("interactive", {}).get("type") if self.type == "interactive" else None

    @property
    def text(self) -> str:
        if self.type == "text":
            return str(self.body["text"]["body"])
        if self.type == "interactive":
            return str(self.body["interactive"]["body"]["text"])
        if self.type == "document":
            return str(self.body["document"].get("caption", ""))
        if self.type == "template":
            return self.template_name or ""
        return ""

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(title, id) of reply buttons or list rows."""
        interactive = self.body.get("interactive") or {}
        action = interactive.get("action") or {}
        if interactive.get("type") == "button":
            return [(b["reply"]["title"], b["reply"]["id"]) for b in action["buttons"]]
        if interactive.get("type") == "list":
            return [(r["title"], r["id"]) for s in action["sections"] for r in s["rows"]]
        return []

    @property
    def rows(self) -> list[dict[str, Any]]:
        interactive = self.body.get("interactive") or {}
        sections = (interactive.get("action") or {}).get("sections") or []
        return [r for s in sections for r in s["rows"]]

    @property
    def template_name(self) -> str | None:
        return self.body["template"]["name"] if self.type == "template" else None

    @property
    def template_params(self) -> list[str]:
        if self.type != "template":
            return []
        return [
            p["text"]
            for c in self.body["template"].get("components", [])
            if c["type"] == "body"
            for p in c["parameters"]
        ]


def _problem(body: dict[str, Any]) -> str | None:
    """What Meta would refuse in this message, or None."""
    kind = body.get("type")
    if body.get("messaging_product") != "whatsapp" or not str(body.get("to", "")).isdigit():
        return "messaging_product and a digits-only to are required"
    if kind == "text":
        text = body["text"]["body"]
        return None if 1 <= _width(text) <= 4096 else f"text of {_width(text)} characters"
    if kind == "interactive":
        interactive = body["interactive"]
        if not 1 <= _width(interactive["body"]["text"]) <= 1024:
            return "interactive body over 1024 characters"
        action = interactive["action"]
        if interactive["type"] == "button":
            titles = [b["reply"]["title"] for b in action["buttons"]]
            if not 1 <= len(titles) <= 3:
                return f"{len(titles)} buttons"
            if any(not 1 <= _width(t) <= 20 for t in titles) or len(set(titles)) != len(titles):
                return f"bad button titles {titles}"
            if any(len(b["reply"]["id"].encode()) > 256 for b in action["buttons"]):
                return "button id too long"
            return None
        if interactive["type"] == "list":
            rows = [r for s in action["sections"] for r in s["rows"]]
            if not 1 <= _width(action["button"]) <= 20:
                return "list button too long"
            if not 1 <= len(rows) <= 10:
                return f"{len(rows)} rows"
            if any(not 1 <= _width(r["title"]) <= 24 for r in rows):
                return f"row titles too long {[r['title'] for r in rows]}"
            if any(_width(r.get("description", "")) > 72 for r in rows):
                return "row description too long"
            ids = [r["id"] for r in rows]
            if len(set(ids)) != len(ids) or any(len(i.encode()) > 200 for i in ids):
                return "row ids not unique or too long"
            return None
        return f"interactive type {interactive['type']}"
    if kind == "document":
        return None if body["document"].get("id") else "document without media id"
    if kind == "template":
        return None if body["template"].get("name") else "template without name"
    return f"unknown type {kind}"


def graph_error(code: int, message: str, details: str = "") -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or message},
            "fbtrace_id": "AbCdEf",
        }
    }


@dataclass
class FakeGraphApi:
    sent: list[Sent] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    # Answers given instead of success: for the next sends in order, or always for one number.
    fail_next: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    fail_to: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> FakeGraphApi:
        app = web.Application()
        app.router.add_post(f"/{VERSION}/{PHONE_NUMBER_ID}/messages", self._messages)
        app.router.add_post(f"/{VERSION}/{PHONE_NUMBER_ID}/media", self._media)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def to(self, phone: str) -> list[Sent]:
        digits = phone.lstrip("+")
        return [s for s in self.sent if s.to == digits]

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def _messages(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response(graph_error(190, "Invalid OAuth access token"), status=401)
        body = json.loads(await request.read())
        if body.get("to") in self.fail_to:
            status, error = self.fail_to[body["to"]]
            return web.json_response(error, status=status)
        if self.fail_next:
            status, error = self.fail_next.pop(0)
            return web.json_response(error, status=status)
        problem = _problem(body)
        if problem is not None:
            self.refused.append(problem)
            return web.json_response(
                graph_error(131009, "Parameter value is not valid", problem), status=400
            )
        self.sent.append(Sent(str(body["to"]), body))
        message_id = f"wamid.TEST{next(self._ids):06d}"
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": message_id}],
            }
        )

    async def _media(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response(graph_error(190, "Invalid OAuth access token"), status=401)
        form = await request.post()
        upload = form["file"]
        assert not isinstance(upload, str)
        self.uploads.append(
            {
                "filename": upload.filename,
                "content": upload.file.read(),
                "type": form["type"],
                "messaging_product": form["messaging_product"],
            }
        )
        return web.json_response({"id": f"media-{len(self.uploads)}"})
