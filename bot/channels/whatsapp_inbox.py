"""A Meta webhook payload cut into one payload per message, for the durable inbox (several
instances serving one number; bot/inbox.py). Each message keeps its `metadata` (the phone number
id it was sent to); delivery statuses stay together in what is left, handled at once as before
(they only update receipts and need no order)."""

from __future__ import annotations

import copy
from typing import Any


def split_messages(
    payload: dict[str, Any],
) -> tuple[dict[str, Any] | None, list[tuple[str, str, dict[str, Any]]]]:
    """(the payload without its messages, or None when nothing is left; [(message id, phone,
    one-message payload)])."""
    messages: list[tuple[str, str, dict[str, Any]]] = []
    rest = copy.deepcopy(payload)
    anything_left = False
    for entry in rest.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        for change in entry.get("changes") or []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            for message in value.pop("messages", None) or []:
                if not isinstance(message, dict):
                    continue
                message_id, sender = message.get("id"), message.get("from")
                if not isinstance(message_id, str) or not isinstance(sender, str):
                    continue
                one = {k: v for k, v in value.items() if k not in ("statuses", "errors")}
                one["messages"] = [message]
                single = {"object": payload.get("object"), "entry": [{"changes": [{"value": one}]}]}
                # The sender's wa_id as sent (digits): one key per person, whatever its form.
                messages.append((message_id, sender.strip().lstrip("+"), single))
            if value.get("statuses") or value.get("errors"):
                anything_left = True
    return (rest if anything_left else None), messages
