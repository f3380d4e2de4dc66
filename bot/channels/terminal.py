"""The terminal chat: the same handlers, choices shown numbered; typing the number picks one."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.channels.numbered import numbered
from handlers.dispatch import Dispatcher
from handlers.types import Incoming, Reply

CHANNEL = "terminal"
# How a choice reads in the terminal chat, and in what the delivery worker prints there.
TERMINAL_LINE = "  {number}. {label}"


def render(reply: Reply) -> str:
    lines = [reply.text]
    if reply.photo is not None:
        lines.insert(0, f"[photo: {reply.photo}]")
    if reply.document is not None:
        lines.append(f"[file: {reply.document.filename}, {len(reply.document.content)} bytes]")
    lines += numbered(reply.choices, TERMINAL_LINE)
    return "\n".join(lines)


async def chat(
    dispatcher: Dispatcher,
    *,
    channel: str = CHANNEL,
    user_id: str = "local",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> None:
    """Read lines until end of input; `/start` is sent first so the conversation opens itself."""
    source, sink = stdin or sys.stdin, stdout or sys.stdout

    async def respond(replies: list[Reply]) -> None:
        for reply in replies:
            print(render(reply), end="\n\n", file=sink, flush=True)

    await dispatcher.handle(
        Incoming.from_text(channel=channel, user_id=user_id, text="/start"), respond
    )
    loop = asyncio.get_running_loop()
    while True:
        print("> ", end="", file=sink, flush=True)
        line = await loop.run_in_executor(None, source.readline)
        if not line:
            print(file=sink)
            return
        if line.strip() in ("/quit", "/keluar"):
            return
        if line.strip():
            incoming = Incoming.from_text(channel=channel, user_id=user_id, text=line)
            await dispatcher.handle(incoming, respond)
