"""Configuration: defaults, parsing, and wrong values stopping start-up with exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, StaffId, load_settings


def test_defaults() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.telegram_token is None and not settings.telegram_enabled
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.db_path == "pustaka.db"
    assert settings.timezone == "Asia/Makassar"
    assert settings.admins == ()


def test_values_and_admins() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": "123456:AAE-secret_x",
            "TELEGRAM_API_URL": "http://127.0.0.1:8081/",
            "PUSTAKA_ADMINS": "111, 222,whatsapp:+6281234567890",
            "PUSTAKA_TIMEZONE": "Asia/Jakarta",
        },
        env_file=None,
    )
    assert settings.telegram_token is not None
    assert settings.telegram_token.get() == "123456:AAE-secret_x"
    assert "secret" not in repr(settings)
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.admins == (
        StaffId("telegram", "111"),
        StaffId("telegram", "222"),
        StaffId("whatsapp", "+6281234567890"),
    )


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("PUSTAKA_DB=from-file.db\nPUSTAKA_TIMEZONE=Asia/Jayapura\n")
    settings = load_settings({"PUSTAKA_DB": "from-env.db"}, env_file=env)
    assert settings.db_path == "from-env.db"
    assert settings.timezone == "Asia/Jayapura"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PUSTAKA_TIMEZONE", "Mars/Olympus"),
        ("TELEGRAM_API_URL", "not a url"),
        ("TELEGRAM_BOT_TOKEN", "https://api.telegram.org/bot123"),
        ("PUSTAKA_ADMINS", "123,bob"),
    ],
)
def test_wrong_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({variable: value}, env_file=None)
    assert caught.value.variable == variable


def test_wrong_value_exits_2_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PUSTAKA_TIMEZONE": "Mars/Olympus", "PUSTAKA_DB": str(tmp_path / "x.db")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "init"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert "PUSTAKA_TIMEZONE" in done.stderr
    assert "Traceback" not in done.stderr
