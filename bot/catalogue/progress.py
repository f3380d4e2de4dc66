"""A harvest's progress: one redrawn line (records, pages, rate) on a terminal; plain log lines
otherwise (cron, systemd, the nightly job), so a log file is not filled with carriage returns.

Called from the harvest's thread; counters are only ever increased by that one thread.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

log = logging.getLogger("pustaka.harvest")

_REDRAW_SECONDS = 0.1
_LOG_SECONDS = 10.0


class Progress:
    def __init__(self, name: str, stream: TextIO | None, *, bar: bool) -> None:
        self.name = name
        self.read = 0
        self.pages = 0
        self.skips = 0
        self._stream = stream
        self._bar = bar
        self._started = time.perf_counter()
        self._shown = 0.0

    @classmethod
    def for_stream(cls, name: str, stream: TextIO | None = None) -> Progress:
        """A bar when `stream` is a terminal, log lines when it is not (or there is none)."""
        bar = stream is not None and stream.isatty()
        return cls(name, stream, bar=bar)

    @classmethod
    def quiet(cls, name: str) -> Progress:
        return cls(name, None, bar=False)

    def rate(self) -> float:
        elapsed = time.perf_counter() - self._started
        return self.read / elapsed if elapsed > 0 else 0.0

    def _line(self) -> str:
        return f"{self.name}: {self.read:,} records, {self.pages:,} pages, {self.rate():,.0f}/s" + (
            f", {self.skips:,} without a title skipped" if self.skips else ""
        )

    def page(self) -> None:
        self.pages += 1
        self._tick()

    def record(self) -> None:
        self.read += 1
        if self.read % 100 == 0:
            self._tick()

    def skipped(self) -> None:
        self.skips += 1

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._bar and self._stream is not None:
            if now - self._shown >= _REDRAW_SECONDS:
                self._shown = now
                self._stream.write("\r\x1b[K" + self._line())
                self._stream.flush()
        elif now - self._shown >= _LOG_SECONDS:
            self._shown = now
            self._log(self._line())

    def _log(self, line: str) -> None:
        if self._stream is not None:
            self._stream.write(line + "\n")
            self._stream.flush()
        else:
            log.info("%s", line)

    def finish(self, result: str) -> None:
        line = f"{self._line()} — {result}"
        if self._bar and self._stream is not None:
            self._stream.write("\r\x1b[K" + line + "\n")
            self._stream.flush()
        else:
            self._log(line)


def for_terminal(name: str) -> Progress:
    return Progress.for_stream(name, sys.stderr)
