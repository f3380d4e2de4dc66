"""The `pustaka` command line as a newcomer uses it: init with sample, import, terminal chat."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.pustaka_process import pustaka_env, run_pustaka


def _pustaka(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = pustaka_env(PUSTAKA_DB=str(tmp_path / "pustaka.db"))
    return run_pustaka(tmp_path, env, *args, stdin=stdin)


def test_init_sample_then_if_missing_keeps_it(tmp_path: Path) -> None:
    first = _pustaka(tmp_path, "init", "--sample", "--if-missing")
    assert first.returncode == 0, first.stderr
    assert "sample content loaded" in first.stdout
    again = _pustaka(tmp_path, "init", "--sample", "--if-missing")
    assert again.returncode == 0 and again.stdout == ""


def test_import_refuses_a_broken_file_and_loads_a_good_one(tmp_path: Path) -> None:
    _pustaka(tmp_path, "init")
    broken = tmp_path / "broken.yaml"
    broken.write_text("libraries:\n  - slug: x\n    name: 'unterminated\n")
    done = _pustaka(tmp_path, "import", str(broken))
    assert done.returncode == 1
    assert "line 3" in done.stderr and "Nothing was imported" in done.stderr

    good = tmp_path / "good.yaml"
    good.write_text(
        "libraries:\n"
        "  - slug: perpus-desa-oebelo\n"
        "    name: Perpustakaan Desa Oebelo\n"
        "    level: village\n"
        "    regency: kupang\n"
        "    village: Oebelo\n"
        "    address: Jl. Timor Raya, Oebelo\n"
        "    opening_hours: Senin–Sabtu 14.00–18.00\n"
        "    services: [Baca di tempat]\n"
    )
    done = _pustaka(tmp_path, "import", str(good))
    assert done.returncode == 0, done.stderr
    assert "1 libraries added" in done.stdout


def test_run_without_a_channel_opens_the_terminal_chat(tmp_path: Path) -> None:
    _pustaka(tmp_path, "init", "--sample")
    done = _pustaka(tmp_path, "run", stdin="1\n1\n11\n1\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout
    assert lines.startswith("No channel configured")
    assert "  1. Bahasa Indonesia" in lines
    assert "Pemberitahuan privasi" in lines
    assert "Wilayah Anda: Ende." in lines
    assert "Perpustakaan terdekat" in lines
