"""Replies the platform did not take (network trouble, a 5xx, a connection-pool timeout, a 429
past its retries, or a shutdown closing the limiter) are kept in the outbox instead of dropped.

The outbox worker then tries them for a few minutes (kind `reply`, see worker.REPLY_ATTEMPTS),
first among due rows and with the interactive priority at the limiter, so a person who wrote
during an outage is answered once it is over instead of meeting silence. After a restart the
outbox resumes them like any other row.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Callable

from handlers.types import Reply
from storage import Storage
from storage.clock import utcnow
from storage.outbox import PRIORITY_REPLY, REPLY_KIND, OutboxMessage

log = logging.getLogger(__name__)


class ReplyRescue:
    def __init__(self, storage: Storage, wake: Callable[[], None] | None = None) -> None:
        self.storage = storage
        self.wake = wake  # the outbox worker's, once delivery runs
        self.kept = 0

    async def keep(self, *, channel: str, recipient: str, reply: Reply, language: str) -> bool:
        """Queue `reply` for `recipient`; False if even the database refused (then it is lost,
        and the log says so)."""
        document = None
        if reply.document is not None:
            document = {
                "filename": reply.document.filename,
                "mime_type": reply.document.mime_type,
                "content_b64": base64.b64encode(reply.document.content).decode("ascii"),
            }
        message = OutboxMessage(
            dedupe_key=f"{REPLY_KIND}:{channel}:{recipient}:{uuid.uuid4().hex}",
            kind=REPLY_KIND,
            channel=channel,
            recipient=recipient,
            text=reply.text or "…",
            choices=tuple((c.label, c.payload) for c in reply.choices),
            language=language,
            priority=PRIORITY_REPLY,
            document=document,
        )
        try:
            await self.storage.outbox.add(message, now=utcnow())
        except Exception:
            log.exception(
                "a reply to %s %s could not be kept for later; it is lost", channel, recipient
            )
            return False
        self.kept += 1
        if self.wake is not None:
            self.wake()
        return True
