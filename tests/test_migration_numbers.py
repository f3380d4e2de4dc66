"""Migrations are applied by number; two files with one number would silently skip the second
(the runner records the number after the first), so each number is used once."""

from collections import Counter
from importlib import resources


def test_every_migration_number_is_used_once() -> None:
    names = [
        entry.name
        for entry in resources.files("storage.migrations").iterdir()
        if entry.name.endswith(".sql")
        and entry.name[:4].isdigit()
        # A PostgreSQL twin (NNNN_x.postgresql.sql) is the same migration for the other engine.
        and not entry.name.endswith(".postgresql.sql")
    ]
    taken = Counter(name[:4] for name in names)
    assert names, "no migrations found"
    assert [n for n, count in taken.items() if count > 1] == [], sorted(names)
