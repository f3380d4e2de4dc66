"""The dispatcher is the only door (issue 14): a channel reaches the core through
`handlers.dispatch.Dispatcher` and the shared vocabulary of `handlers.types`, and its own state
through a protocol it declares, which the wiring fills. Read from the source, so a new channel
module is checked the day it is added."""

from __future__ import annotations

import ast
from pathlib import Path

CHANNELS = Path(__file__).resolve().parent.parent / "bot" / "channels"
# What a channel may take from the core: the door and the words every layer shares.
ALLOWED = {
    "handlers.dispatch": {"Dispatcher", "Respond"},
    "handlers.types": None,  # any name: Incoming, Reply, Choice, Capabilities, Handled...
}


def imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every import in `path`, at any depth (lazy imports count too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.module, alias.name) for alias in node.names]
    return found


def forbidden(path: Path) -> list[str]:
    wrong = []
    for module, name in imports(path):
        top = module.split(".")[0]
        if top == "storage":
            wrong.append(f"{path.name}: {module}")
        elif top == "handlers":
            allowed = ALLOWED.get(module, set())
            if allowed is not None and name not in allowed:
                wrong.append(f"{path.name}: {module}.{name}")
    return sorted(wrong)


def test_no_channel_imports_storage_or_core_internals() -> None:
    modules = sorted(CHANNELS.glob("*.py"))
    assert len(modules) > 10  # the glob found the channels
    assert [line for path in modules for line in forbidden(path)] == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text(
        "from handlers.types import Reply\n"
        "from handlers.dispatch import Dispatcher, KeyedLocks\n"
        "def f():\n    from storage.whatsapp import WhatsAppRepo\n"
    )
    assert forbidden(sample) == [
        "x.py: handlers.dispatch.KeyedLocks",
        "x.py: storage.whatsapp",
    ]
