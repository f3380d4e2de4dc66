"""The staff's command line as a librarian uses it: help, WITA times, pipes, imports, audit."""

from __future__ import annotations

import shlex
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from storage.clock import utcnow
from tests.pustaka_process import COMMAND, pustaka_env, run_pustaka

WITA = ZoneInfo("Asia/Makassar")
SUBCOMMANDS = (
    "run",
    "chat",
    "init",
    "import",
    "outbox",
    "report",
    "registrations",
    "audit",
    "demo-reminder",
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return pustaka_env(PUSTAKA_DB=str(tmp_path / "pustaka.db"), **extra)


def _pustaka(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_pustaka(tmp_path, _env(tmp_path), *args, stdin=stdin)


def test_help_names_every_command_and_each_has_its_own(tmp_path: Path) -> None:
    top = _pustaka(tmp_path, "--help")
    assert top.returncode == 0
    for name in SUBCOMMANDS:
        assert f"    {name}" in top.stdout, name
        own = _pustaka(tmp_path, name, "--help")
        assert own.returncode == 0 and f"usage: pustaka {name}" in own.stdout, name
    imp = _pustaka(tmp_path, "import", "--help").stdout
    assert "FILE" in imp and "the YAML content file" in imp


def test_registrations_show_wita_times_and_titles(tmp_path: Path) -> None:
    assert _pustaka(tmp_path, "init", "--sample").returncode == 0
    done = _pustaka(tmp_path, "registrations")
    assert done.returncode == 0, done.stderr
    assert "starts (WITA)" in done.stdout and "UTC" not in done.stdout
    assert "Pelatihan Komputer Dasar" in done.stdout  # a sample event's title, not its slug


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`pustaka registrations | head` ended in a BrokenPipeError traceback."""
    assert _pustaka(tmp_path, "init", "--sample").returncode == 0
    command = " ".join(shlex.quote(part) for part in COMMAND)
    for args, typed in (("registrations", ""), ("chat", "1\n1\n/acara\n/quit\n")):
        # `true` reads nothing and is gone before pustaka writes: every write meets a closed
        # pipe, as with `| head` once head has its lines.
        done = subprocess.run(
            f"{command} {args} 2>stderr.txt | true",
            shell=True,
            env=_env(tmp_path),
            cwd=tmp_path,
            input=typed,
            text=True,
            timeout=60,
        )
        err = (tmp_path / "stderr.txt").read_text()
        assert done.returncode == 0
        assert "Traceback" not in err and "BrokenPipeError" not in err, err


def _event_file(tmp_path: Path, *, starts: str, capacity: int) -> Path:
    path = tmp_path / "acara.yaml"
    path.write_text(
        "events:\n"
        "  - slug: kelas-tenun\n"
        "    library: perpus-ende\n"
        "    title: Kelas Tenun Ikat\n"
        "    category: weaving\n"
        "    description: Belajar menenun.\n"
        f'    starts: "{starts}"\n'
        "    duration_minutes: 120\n"
        f"    capacity: {capacity}\n",
        encoding="utf-8",
    )
    return path


def test_import_reads_both_date_forms_and_closes_past_events(tmp_path: Path) -> None:
    assert _pustaka(tmp_path, "init", "--sample").returncode == 0
    soon = (utcnow() + timedelta(days=9)).astimezone(WITA)
    path = _event_file(tmp_path, starts=soon.strftime("%d-%m-%Y 09.00"), capacity=10)
    done = _pustaka(tmp_path, "import", str(path))
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    path = _event_file(tmp_path, starts=soon.strftime("%Y-%m-%d 09:00"), capacity=10)
    assert _pustaka(tmp_path, "import", str(path)).returncode == 0
    past = (utcnow() - timedelta(days=3)).astimezone(WITA)
    path = _event_file(tmp_path, starts=past.strftime("%d-%m-%Y 09.00"), capacity=10)
    done = _pustaka(tmp_path, "import", str(path))
    assert done.returncode == 0, done.stderr
    assert "warning: line 2: event 'kelas-tenun' (Kelas Tenun Ikat) started in the past" in (
        done.stderr
    )
    status = subprocess.run(
        [sys.executable, "-c", _STATUS, str(tmp_path / "pustaka.db")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout.strip() == "closed"


_STATUS = (
    "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("
    "\"SELECT status FROM events WHERE slug = 'kelas-tenun'\").fetchone()[0])"
)
_TAKE_SEATS = (
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("
    "\"UPDATE events SET seats_taken = 6 WHERE slug = 'kelas-tenun'\"); c.commit()"
)


def test_import_refuses_a_capacity_below_the_registrations_in_plain_words(
    tmp_path: Path,
) -> None:
    assert _pustaka(tmp_path, "init", "--sample").returncode == 0
    soon = (utcnow() + timedelta(days=9)).astimezone(WITA)
    path = _event_file(tmp_path, starts=soon.strftime("%d-%m-%Y 09.00"), capacity=10)
    assert _pustaka(tmp_path, "import", str(path)).returncode == 0
    subprocess.run([sys.executable, "-c", _TAKE_SEATS, str(tmp_path / "pustaka.db")], check=True)
    path = _event_file(tmp_path, starts=soon.strftime("%d-%m-%Y 09.00"), capacity=4)
    done = _pustaka(tmp_path, "import", str(path))
    assert done.returncode == 1
    assert "CHECK constraint" not in done.stderr
    assert (
        "line 2: event 'kelas-tenun' (Kelas Tenun Ikat): 6 people already hold a seat, "
        "so the capacity cannot be 4" in done.stderr
    )
    assert "Nothing was imported." in done.stderr


def test_audit_on_the_command_line(tmp_path: Path) -> None:
    env = _env(tmp_path, PUSTAKA_ADMINS="9001")
    assert run_pustaka(tmp_path, env, "init", "--sample").returncode == 0
    chat = run_pustaka(
        tmp_path, env, "chat", "--as", "9001", stdin="/beriperan 555 pustakawan perpus-ende\n"
    )
    assert chat.returncode == 0, chat.stderr
    done = run_pustaka(tmp_path, env, "audit")
    assert done.returncode == 0, done.stderr
    assert "WITA · Konfigurasi (PUSTAKA_ADMINS): memberi peran Admin (provinsi)" in done.stdout
    assert (
        "WITA · telegram:9001, Admin (provinsi): memberi peran Pustakawan (library:" in done.stdout
    )
    mine = run_pustaka(tmp_path, env, "audit", "--person", "555", "--lang", "en")
    assert "granted the role Librarian" in mine.stdout and "opened /beriperan" not in mine.stdout
    bad = run_pustaka(tmp_path, env, "audit", "--date", "kemarin")
    assert bad.returncode == 1 and "DD-MM-YYYY" in bad.stderr
