"""storage/ keeps one query style: `await tx.fetchone(...)` / `await tx.fetchall(...)` for rows,
`await tx.execute(...)` for writes. The aiosqlite forms (`async with conn.execute(...) as cur`,
`await cur.fetchone()`, `execute_fetchall`) must not come back, and repositories do not read the
clock: `now` is passed in by the caller."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STORAGE = Path(__file__).resolve().parent.parent / "storage"
# The engines themselves, and the clock's own module.
ENGINES = {"db.py", "postgres.py"}

OLD_STYLES = {
    "async with ... execute(": re.compile(r"async with [\w.]+\.execute\("),
    "execute_fetchall": re.compile(r"\bexecute_fetchall\b"),
    "cursor.fetchone()/fetchall()": re.compile(r"await \w+\.fetch(one|all)\(\)"),
}


def _modules(skip: set[str]) -> list[Path]:
    return sorted(p for p in STORAGE.glob("*.py") if p.name not in skip)


@pytest.mark.parametrize("path", _modules(ENGINES), ids=lambda p: p.name)
def test_one_query_style(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = [
        f"{name} at line {text.count(chr(10), 0, m.start()) + 1}"
        for name, pattern in OLD_STYLES.items()
        for m in pattern.finditer(text)
    ]
    assert not found, f"{path.name}: {found}"


@pytest.mark.parametrize("path", _modules(ENGINES | {"clock.py"}), ids=lambda p: p.name)
def test_repositories_do_not_read_the_clock(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    reads = len(re.findall(r"\butcnow\(\)", text))
    assert reads == 0, f"{path.name}: utcnow() read {reads}x"
