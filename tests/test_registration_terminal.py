"""Registration in the terminal chat (numbers instead of buttons) and the librarians' CLI view
of check-in codes."""

from __future__ import annotations

import io
from pathlib import Path

from bot.channels.terminal import chat
from bot.runtime import Runtime
from tests.pustaka_process import pustaka_env, run_pustaka


async def test_register_and_cancel_in_the_terminal_chat(runtime: Runtime) -> None:
    lines = [
        "1",  # Bahasa Indonesia
        "1",  # setuju
        "1",  # Kota Kupang
        "komputer",  # computer classes everywhere, soonest first: Kupang's
        "1",  # the first event
        "Daftar",  # the button's words work as well as its number
        "Yohana Bria",
        "1",  # Perempuan
        "2",  # 18-35
        "Oesapa",  # typed village
        "1",  # Daftar sekarang
        "/acarasaya",
        "1",  # Batal 1.
        "1",  # Ya, batalkan
    ]
    out = io.StringIO()
    await chat(runtime.dispatcher, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out)
    text = out.getvalue()
    assert "Pelatihan Komputer Dasar" in text
    assert "Periksa pendaftaran" in text and "Yohana Bria" in text
    assert "✅ Anda terdaftar!" in text
    assert "Yohana Bria — ✅ terdaftar" in text
    assert "Pendaftaran Yohana Bria untuk Pelatihan Komputer Dasar sudah dibatalkan." in text


async def test_numbers_pick_choices_even_in_typing_steps(runtime: Runtime) -> None:
    lines = [
        "1",  # Bahasa Indonesia
        "1",  # setuju
        "1",  # Kota Kupang
        "komputer",
        "1",
        "Daftarkan orang lain",
        "Nenek Yuliana",
        "4",  # Lewati (gender)
        "5",  # Lewati (age)
        "1",  # Lewati (village: a typing step, yet "1" is the first choice, not a village)
        "1",  # Daftar sekarang
    ]
    out = io.StringIO()
    await chat(runtime.dispatcher, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out)
    text = out.getvalue()
    assert "Desa/kelurahan: —" in text
    assert "✅ Nenek Yuliana terdaftar!" in text


def test_cli_lists_checkin_codes(tmp_path: Path) -> None:
    env = pustaka_env(PUSTAKA_DB=str(tmp_path / "p.db"))
    assert run_pustaka(tmp_path, env, "init", "--sample").returncode == 0
    done = run_pustaka(tmp_path, env, "registrations")
    assert done.returncode == 0, done.stderr
    # Titles and WITA times, as the librarian knows them (sampel-komputer-dasar-kupang-1).
    assert "code" in done.stdout and "starts (WITA)" in done.stdout
    row = next(line for line in done.stdout.splitlines() if "Pelatihan Komputer Dasar" in line)
    code = row.split()[0]
    assert len(code) == 6 and not set(code) & set("0O1IL")
    assert "0/20" in row
