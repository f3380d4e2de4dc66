"""Running `pustaka` (python -m bot) as a separate process, the way a person does, with none of
this machine's own Pustaka, Telegram or WhatsApp settings leaking into it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

COMMAND = (sys.executable, "-m", "bot")


def pustaka_env(**settings: str) -> dict[str, str]:
    """This environment without PUSTAKA_, TELEGRAM_, WHATSAPP_ or SMS_ settings, and `settings`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "PUSTAKA_", "WHATSAPP_", "SMS_"))
    }
    return env | settings


def run_pustaka(
    cwd: Path, env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`pustaka ARGS` to its end, with `stdin` typed in."""
    return subprocess.run(
        [*COMMAND, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


async def start_pustaka_run(cwd: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    """`pustaka run` in the background; the caller stops it (SIGTERM) and reads its output."""
    return await asyncio.create_subprocess_exec(
        *COMMAND,
        "run",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
