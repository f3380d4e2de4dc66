"""A fake WhatsApp Cloud (Graph) API on loopback: records what is sent, refuses what Meta would
refuse, and answers errors on request, shaped like Graph API errors.

What it refuses, as Meta documents it: a message with neither a digits-only `to` nor a user-id
`recipient`; text over 4,096 characters; interactive bodies over 1,024, headers and footers over
60; more than 3 buttons or 10 rows, titles over 20 (buttons, the list button) or 24 (rows,
sections), row descriptions over 72, duplicate button titles, duplicate button or row ids, ids
over 256 (buttons) or 200 (rows); a list with a media header; captions over 1,024; media messages
without a media id; a template whose filled-in body exceeds 1,024 characters (132005) or whose
parameters hold new lines, tabs or more than four spaces in a row; uploads of any type outside
Meta's supported media list, or larger than its size limits ("(#100) Param file must be a file
with one of the following types")."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

VERSION = "v26.0"
PHONE_NUMBER_ID = "106540352242922"
TOKEN = "EAAtest-token"


def _width(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


_USER_ID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")
# Meta's supported media types and their size limits (bytes).
MEDIA_TYPES = {
    "text/plain": 100_000_000,
    "application/pdf": 100_000_000,
    "application/vnd.ms-excel": 100_000_000,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100_000_000,
    "application/msword": 100_000_000,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100_000_000,
    "application/vnd.ms-powerpoint": 100_000_000,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100_000_000,
    "image/jpeg": 5_000_000,
    "image/png": 5_000_000,
    "image/webp": 500_000,
    "audio/aac": 16_000_000,
    "audio/amr": 16_000_000,
    "audio/mpeg": 16_000_000,
    "audio/mp4": 16_000_000,
    "audio/ogg": 16_000_000,
    "video/mp4": 16_000_000,
    "video/3gpp": 16_000_000,
}


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
        if self.type in ("document", "image"):
            return str(self.body[self.type].get("caption", ""))
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


def _problem(body: dict[str, Any], template_bodies: dict[str, int]) -> str | None:
    """What Meta would refuse in this message, or None."""
    kind = body.get("type")
    if body.get("messaging_product") != "whatsapp":
        return "messaging_product is required"
    to, recipient = body.get("to"), body.get("recipient")
    if to is None and recipient is None:
        return "either to or recipient is required"
    if to is not None and not str(to).isdigit():
        return f"to must be a phone number, got {to!r}"
    if to is None and not _USER_ID.fullmatch(str(recipient)):
        return f"recipient must be a business-scoped user id, got {recipient!r}"
    if kind == "text":
        text = body["text"]["body"]
        return None if 1 <= _width(text) <= 4096 else f"text of {_width(text)} characters"
    if kind == "interactive":
        return _interactive_problem(body["interactive"])
    if kind in ("document", "image"):
        media = body[kind]
        if not media.get("id"):
            return f"{kind} without media id"
        if _width(media.get("caption", "")) > 1024:
            return "caption over 1024 characters"
        return None
    if kind == "template":
        return _template_problem(body["template"], template_bodies)
    return f"unknown type {kind}"


def _interactive_problem(interactive: dict[str, Any]) -> str | None:
    if not 1 <= _width(interactive["body"]["text"]) <= 1024:
        return "interactive body over 1024 characters"
    if _width((interactive.get("footer") or {}).get("text", "")) > 60:
        return "footer over 60 characters"
    header = interactive.get("header")
    if header is not None:
        if header.get("type") == "text":
            if not 1 <= _width(header.get("text", "")) <= 60:
                return "header over 60 characters"
        elif header.get("type") in ("image", "document", "video"):
            if interactive["type"] != "button":
                return "only reply buttons take a media header"
            if not (header.get(header["type"]) or {}).get("id"):
                return "media header without media id"
        else:
            return f"header type {header.get('type')}"
    action = interactive["action"]
    if interactive["type"] == "button":
        titles = [b["reply"]["title"] for b in action["buttons"]]
        ids = [b["reply"]["id"] for b in action["buttons"]]
        if not 1 <= len(titles) <= 3:
            return f"{len(titles)} buttons"
        if any(not 1 <= _width(t) <= 20 for t in titles) or len(set(titles)) != len(titles):
            return f"bad button titles {titles}"
        if len(set(ids)) != len(ids):
            return f"duplicate button ids {ids}"
        if any(not 1 <= len(i.encode()) <= 256 for i in ids):
            return "button id too long"
        return None
    if interactive["type"] == "list":
        rows = [r for s in action["sections"] for r in s["rows"]]
        if not 1 <= _width(action["button"]) <= 20:
            return "list button too long"
        if any(_width(s.get("title", "")) > 24 for s in action["sections"]):
            return "section title too long"
        if not 1 <= len(rows) <= 10:
            return f"{len(rows)} rows"
        if any(not 1 <= _width(r["title"]) <= 24 for r in rows):
            return f"row titles too long {[r['title'] for r in rows]}"
        if any(_width(r.get("description", "")) > 72 for r in rows):
            return "row description too long"
        ids = [r["id"] for r in rows]
        if len(set(ids)) != len(ids) or any(not 1 <= len(i.encode()) <= 200 for i in ids):
            return "row ids not unique or too long"
        return None
    return f"interactive type {interactive['type']}"


def _template_problem(template: dict[str, Any], template_bodies: dict[str, int]) -> str | None:
    if not template.get("name"):
        return "template without name"
    params = [
        str(p.get("text", ""))
        for c in template.get("components", [])
        if c["type"] == "body"
        for p in c["parameters"]
    ]
    for text in params:
        if not text or "\n" in text or "\t" in text or "     " in text:
            return "132018: template parameter with new lines, tabs or 5 spaces"
    hydrated = template_bodies.get(template["name"], 0) + sum(_width(p) for p in params)
    if hydrated > 1024:
        return f"132005: template body of {hydrated} characters once filled in"
    return None


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
    # The approved templates' own body text (characters, without parameters), by name.
    template_bodies: dict[str, int] = field(default_factory=dict)
    # Files people sent us, by media id: (content, mime type), served by GET /{version}/{id}.
    received_media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)
    # Uploads answered with an error instead, by file name.
    fail_uploads: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> FakeGraphApi:
        app = web.Application()
        app.router.add_post(f"/{VERSION}/{PHONE_NUMBER_ID}/messages", self._messages)
        app.router.add_post(f"/{VERSION}/{PHONE_NUMBER_ID}/media", self._media)
        app.router.add_get(f"/{VERSION}/{{media_id}}", self._media_url)
        app.router.add_get("/download/{media_id}", self._download)
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
        who = str(body.get("to") or body.get("recipient") or "")
        if who in self.fail_to:
            status, error = self.fail_to[who]
            return web.json_response(error, status=status)
        if self.fail_next:
            status, error = self.fail_next.pop(0)
            return web.json_response(error, status=status)
        problem = _problem(body, self.template_bodies)
        if problem is not None:
            self.refused.append(problem)
            code = int(problem[:6]) if problem[:6].isdigit() else 131009
            return web.json_response(
                graph_error(code, "Parameter value is not valid", problem), status=400
            )
        self.sent.append(Sent(who, body))
        message_id = f"wamid.TEST{next(self._ids):06d}"
        contact = {"input": who, "wa_id": who} if body.get("to") else {"user_id": who}
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [contact],
                "messages": [{"id": message_id}],
            }
        )

    async def _media(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response(graph_error(190, "Invalid OAuth access token"), status=401)
        form = await request.post()
        upload = form["file"]
        assert not isinstance(upload, str)
        content = upload.file.read()
        if upload.filename in self.fail_uploads:
            status, error = self.fail_uploads[upload.filename]
            return web.json_response(error, status=status)
        upload.file.seek(0)
        declared = str(form.get("type", ""))
        limit = MEDIA_TYPES.get(declared.split(";")[0])
        if limit is None or upload.content_type.split(";")[0] != declared.split(";")[0]:
            self.refused.append(f"upload of {declared}")
            return web.json_response(
                graph_error(
                    100,
                    "(#100) Param file must be a file with one of the following types: "
                    + ", ".join(MEDIA_TYPES),
                ),
                status=400,
            )
        if len(content) > limit:
            self.refused.append(f"upload of {len(content)} bytes")
            return web.json_response(graph_error(131053, "Media upload error"), status=400)
        self.uploads.append(
            {
                "filename": upload.filename,
                "content": content,
                "type": form["type"],
                "messaging_product": form["messaging_product"],
            }
        )
        return web.json_response({"id": f"media-{len(self.uploads)}"})

    async def _media_url(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response(graph_error(190, "Invalid OAuth access token"), status=401)
        media_id = request.match_info["media_id"]
        if media_id not in self.received_media:
            return web.json_response(graph_error(100, "Invalid media id"), status=400)
        content, mime = self.received_media[media_id]
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/download/{media_id}",
                "mime_type": mime,
                "file_size": len(content),
                "id": media_id,
            }
        )

    async def _download(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.Response(status=401)
        media_id = request.match_info["media_id"]
        self.downloads.append(media_id)
        content, mime = self.received_media[media_id]
        return web.Response(body=content, content_type=mime)
