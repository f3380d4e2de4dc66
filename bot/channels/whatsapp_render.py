"""Channel-neutral replies as WhatsApp Cloud API message objects (without `to`).

Up to 3 choices become reply buttons, 4 to 10 a list message; longer lists never arrive here, the
core pages them (handlers/paging.py, from the channel's Capabilities). Button and row ids are the
choices' payloads (≤ 64 bytes, within WhatsApp's 256 for buttons and 200 for rows), so a tap
comes back as the payload the core knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.channels.textsplit import split_text
from handlers.types import Choice

MAX_TEXT = 4096
MAX_INTERACTIVE_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_LIST_BUTTON = 20
MAX_CAPTION = 1024
MAX_TEMPLATE_BODY = 1024  # the approved body with its parameters filled in

# The media types Meta's upload accepts (Cloud API "supported media types"); anything else is
# refused with "(#100) Param file must be a file with one of the following types".
DOCUMENT_TYPES = frozenset(
    {
        "text/plain",
        "application/pdf",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
# Plain text under another name: uploaded as text/plain, keeping its own file name (.csv, .ics),
# so the phone still opens it with the right app.
PLAIN_TEXT_TYPES = frozenset({"text/csv", "text/calendar", "text/tab-separated-values"})


@dataclass(frozen=True, slots=True)
class ListTexts:
    """The few words the WhatsApp rendering adds, from the catalog in the person's language."""

    button: str  # the list's opening button, "Pilih"
    section: str  # the list's section title, "Pilihan"
    prompt: str  # interactive body when the text went out as its own message(s)


def width(text: str) -> int:
    """Length as WhatsApp counts it. Emoji are two UTF-16 units; counting units never undercounts,
    so a title that passes here is never refused for being a character too long."""
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> int:
    """Index of the longest prefix of `text` no wider than `limit`."""
    total = 0
    for index, char in enumerate(text):
        total += width(char)
        if total > limit:
            return index
    return len(text)


def split_label(label: str, limit: int) -> tuple[str, str]:
    """(head, rest): head ≤ limit, cut at a word boundary when one is in the second half."""
    if width(label) <= limit:
        return label, ""
    hard = _cut(label, limit)
    space = label.rfind(" ", 0, hard + 1)
    cut = space if space >= hard // 2 else hard
    return label[:cut].rstrip(), label[cut:].strip()


def clip(text: str, limit: int) -> str:
    """Cut to `limit` with an ellipsis, on a word boundary where one is near."""
    if width(text) <= limit:
        return text
    head, _ = split_label(text, limit - 1)
    return head.rstrip(" ,.;:-—") + "…"


def text_message(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": body, "preview_url": False}}


def _button_titles(choices: Sequence[Choice]) -> list[str] | None:
    titles = [clip(c.label, MAX_BUTTON_TITLE) for c in choices]
    # WhatsApp refuses two buttons with the same title; a list keeps the full labels apart.
    return titles if len(set(titles)) == len(titles) else None


def _row(choice: Choice) -> dict[str, Any]:
    title, rest = split_label(choice.label, MAX_ROW_TITLE)
    row: dict[str, Any] = {"id": choice.payload, "title": title}
    description = " ".join(part for part in (rest, choice.detail) if part)
    if description:
        row["description"] = clip(description, MAX_ROW_DESCRIPTION)
    return row


def _list(body: str, rows: list[dict[str, Any]], texts: ListTexts) -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {
                "button": clip(texts.button, MAX_LIST_BUTTON),
                "sections": [{"title": clip(texts.section, MAX_ROW_TITLE), "rows": rows}],
            },
        },
    }


def choices_message(body: str, choices: Sequence[Choice], texts: ListTexts) -> dict[str, Any]:
    """One interactive message offering `choices` (at most ten: the core pages longer lists)."""
    titles = _button_titles(choices) if len(choices) <= MAX_BUTTONS else None
    if titles is not None:
        buttons = [
            {"type": "reply", "reply": {"id": c.payload, "title": title}}
            for c, title in zip(choices, titles, strict=True)
        ]
        return {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": body},
                "action": {"buttons": buttons},
            },
        }
    return _list(body, [_row(c) for c in choices], texts)


def reply_messages(text: str, choices: Sequence[Choice], texts: ListTexts) -> list[dict[str, Any]]:
    """Text split on paragraphs under 4096; the choices ride on the last part when it fits the
    1024-character interactive body, else they follow with a short prompt."""
    parts = split_text(text, MAX_TEXT) if text else []
    if not choices:
        return [text_message(p) for p in parts if p]
    if parts and width(parts[-1]) <= MAX_INTERACTIVE_BODY and parts[-1]:
        body = parts.pop()
    else:
        body = texts.prompt
    return [*(text_message(p) for p in parts if p), choices_message(body, choices, texts)]


def media_plan(mime_type: str) -> tuple[str, str] | None:
    """(type to upload as, message type) for a file of `mime_type`, or None when Meta takes no
    such file: images go as images (shown in the chat), the rest as documents."""
    base = mime_type.split(";", 1)[0].strip().lower()
    if base in IMAGE_TYPES:
        return base, "image"
    if base in DOCUMENT_TYPES:
        return base, "document"
    if base in PLAIN_TEXT_TYPES:
        return "text/plain", "document"
    return None


def media_message(kind: str, media_id: str, filename: str, caption: str) -> dict[str, Any]:
    """A document or image by media id, the text as its caption."""
    if kind == "image":
        image: dict[str, Any] = {"id": media_id}
        if caption:
            image["caption"] = clip(caption, MAX_CAPTION)
        return {"type": "image", "image": image}
    return document_message(media_id, filename, caption)


def media_with_buttons(
    kind: str, media_id: str, filename: str, body: str, choices: Sequence[Choice]
) -> dict[str, Any] | None:
    """One interactive message carrying the file as its header, the text as its body and up
    to three reply buttons; one billed message instead of a file and a separate prompt. None
    when it does not fit (more choices, a longer text, duplicate button titles)."""
    titles = _button_titles(choices) if 0 < len(choices) <= MAX_BUTTONS else None
    if titles is None or not body or width(body) > MAX_INTERACTIVE_BODY:
        return None
    header: dict[str, Any] = {"type": kind, kind: {"id": media_id}}
    if kind == "document":
        header["document"]["filename"] = filename
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "header": header,
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": c.payload, "title": title}}
                    for c, title in zip(choices, titles, strict=True)
                ]
            },
        },
    }


def document_message(media_id: str, filename: str, caption: str) -> dict[str, Any]:
    document: dict[str, Any] = {"id": media_id, "filename": filename}
    if caption:
        document["caption"] = clip(caption, MAX_CAPTION)
    return {"type": "document", "document": document}


def template_message(
    name: str,
    language_code: str,
    parameters: Sequence[str],
    button_payloads: Sequence[str] = (),
    limits: Sequence[int] = (),
) -> dict[str, Any]:
    """`limits[i]`: the most characters parameter i may have (cut with "…" beyond)."""
    components: list[dict[str, Any]] = []
    if parameters:
        texts = [_template_text(p) for p in parameters]
        texts = [clip(text, limits[i]) if i < len(limits) else text for i, text in enumerate(texts)]
        components.append(
            {"type": "body", "parameters": [{"type": "text", "text": t} for t in texts]}
        )
    for index, payload in enumerate(button_payloads):
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(index),
                "parameters": [{"type": "payload", "payload": payload}],
            }
        )
    template: dict[str, Any] = {"name": name, "language": {"code": language_code}}
    if components:
        template["components"] = components
    return {"type": "template", "template": template}


def _template_text(value: str) -> str:
    """Meta refuses template parameters with new lines, tabs or more than four spaces in a row."""
    return " ".join(value.split()) or "-"
