"""WhatsApp, HTTP server and Telegram webhook settings: defaults, the templates file, and wrong
values stopping start-up with the variable named."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

WHATSAPP = {
    "WHATSAPP_TOKEN": "EAAGm0PX4ZCpsBA-long-token",
    "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
    "WHATSAPP_APP_SECRET": "0123456789abcdef",
    "WHATSAPP_VERIFY_TOKEN": "pustaka-verify",
}


def test_whatsapp_is_off_by_default() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.whatsapp is None and not settings.web_enabled
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.telegram_webhook_url is None


def test_whatsapp_settings_and_defaults() -> None:
    settings = load_settings(WHATSAPP, env_file=None)
    wa = settings.whatsapp
    assert wa is not None and settings.web_enabled
    assert wa.api_url == "https://graph.facebook.com" and wa.api_version == "v26.0"
    assert wa.throughput == 80 and wa.daily_limit == 250 and wa.templates == {}
    assert wa.token.get() == WHATSAPP["WHATSAPP_TOKEN"]
    for secret in ("long-token", "0123456789abcdef", "pustaka-verify"):
        assert secret not in repr(settings)
    custom = load_settings(
        {
            **WHATSAPP,
            "WHATSAPP_API_URL": "http://127.0.0.1:9000/",
            "WHATSAPP_API_VERSION": "v23.0",
            "WHATSAPP_THROUGHPUT": "20",
            "WHATSAPP_DAILY_LIMIT": "1000",
            "PUSTAKA_HTTP_HOST": "0.0.0.0",
            "PUSTAKA_HTTP_PORT": "8443",
        },
        env_file=None,
    )
    assert custom.whatsapp is not None
    assert custom.whatsapp.api_url == "http://127.0.0.1:9000"
    assert custom.whatsapp.api_version == "v23.0"
    assert (custom.whatsapp.throughput, custom.whatsapp.daily_limit) == (20, 1000)
    assert (custom.http_host, custom.http_port) == ("0.0.0.0", 8443)


def test_templates_file(tmp_path: Path) -> None:
    path = tmp_path / "templates.yaml"
    path.write_text(
        "# which approved template serves which message kind\n"
        "reminder:\n"
        "  name: pustaka_pengingat_acara\n"
        "  languages: {id: id, en: en_US}\n"
        "  params: [event, when, place]\n"
        "  buttons: 2\n"
        "announcement:\n"
        "  name: pustaka_pengumuman\n"
        "  languages: {id: id}\n"
        "  params: [library, text]\n"
    )
    settings = load_settings({**WHATSAPP, "WHATSAPP_TEMPLATES": str(path)}, env_file=None)
    assert settings.whatsapp is not None
    reminder = settings.whatsapp.templates["reminder"]
    assert reminder.name == "pustaka_pengingat_acara"
    assert dict(reminder.languages) == {"id": "id", "en": "en_US"}
    assert reminder.params == ("event", "when", "place") and reminder.buttons == 2
    assert settings.whatsapp.templates["announcement"].buttons == 0


@pytest.mark.parametrize(
    "content",
    [
        "reminder: [1, 2]",
        "reminder:\n  name: Bad Name\n  languages: {id: id}\n",
        "reminder:\n  name: ok\n  languages: {fr: fr}\n",
        "reminder:\n  name: ok\n  languages: {id: id}\n  params: event\n",
        "reminder:\n  name: ok\n  languages: {id: id}\n  buttons: 5\n",
        "Reminder!:\n  name: ok\n  languages: {id: id}\n",
        "- just a list",
        "reminder: {name: [unclosed",
    ],
)
def test_a_wrong_templates_file_names_the_variable(tmp_path: Path, content: str) -> None:
    path = tmp_path / "templates.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_settings({**WHATSAPP, "WHATSAPP_TEMPLATES": str(path)}, env_file=None)
    assert caught.value.variable == "WHATSAPP_TEMPLATES"


def test_a_missing_templates_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**WHATSAPP, "WHATSAPP_TEMPLATES": str(tmp_path / "no.yaml")}, env_file=None)
    assert caught.value.variable == "WHATSAPP_TEMPLATES"


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"WHATSAPP_APP_SECRET": ""}, "WHATSAPP_APP_SECRET"),
        ({"WHATSAPP_TOKEN": ""}, "WHATSAPP_TOKEN"),
        ({"WHATSAPP_VERIFY_TOKEN": ""}, "WHATSAPP_VERIFY_TOKEN"),
        ({"WHATSAPP_PHONE_NUMBER_ID": "+62 812 3456 7890"}, "WHATSAPP_PHONE_NUMBER_ID"),
        ({"WHATSAPP_TOKEN": "Bearer abc"}, "WHATSAPP_TOKEN"),
        ({"WHATSAPP_API_URL": "graph.facebook.com"}, "WHATSAPP_API_URL"),
        ({"WHATSAPP_API_VERSION": "21"}, "WHATSAPP_API_VERSION"),
        ({"WHATSAPP_THROUGHPUT": "fast"}, "WHATSAPP_THROUGHPUT"),
        ({"WHATSAPP_THROUGHPUT": "0"}, "WHATSAPP_THROUGHPUT"),
        ({"WHATSAPP_DAILY_LIMIT": "-1"}, "WHATSAPP_DAILY_LIMIT"),
        ({"PUSTAKA_HTTP_PORT": "http"}, "PUSTAKA_HTTP_PORT"),
        ({"PUSTAKA_HTTP_PORT": "70000"}, "PUSTAKA_HTTP_PORT"),
    ],
)
def test_wrong_whatsapp_values_name_the_variable(changes: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**WHATSAPP, **changes}, env_file=None)
    assert caught.value.variable == variable


def test_telegram_webhook_settings() -> None:
    token = {"TELEGRAM_BOT_TOKEN": "123456:AAE-secret_x"}
    settings = load_settings(
        {
            **token,
            "TELEGRAM_WEBHOOK_URL": "https://pustaka.example.id/webhooks/telegram",
            "TELEGRAM_WEBHOOK_SECRET": "s3cret_Token-1",
        },
        env_file=None,
    )
    assert settings.web_enabled
    assert settings.telegram_webhook_token is not None
    assert settings.telegram_webhook_token.get() == "s3cret_Token-1"
    assert "s3cret" not in repr(settings)
    for env, variable in [
        ({**token, "TELEGRAM_WEBHOOK_URL": "https://x.example/h"}, "TELEGRAM_WEBHOOK_SECRET"),
        (
            {
                **token,
                "TELEGRAM_WEBHOOK_URL": "https://x.example/h",
                "TELEGRAM_WEBHOOK_SECRET": "a b",
            },
            "TELEGRAM_WEBHOOK_SECRET",
        ),
        ({"TELEGRAM_WEBHOOK_URL": "https://x.example/h"}, "TELEGRAM_WEBHOOK_URL"),
        ({**token, "TELEGRAM_WEBHOOK_URL": "ftp://x"}, "TELEGRAM_WEBHOOK_URL"),
    ]:
        with pytest.raises(ConfigError) as caught:
            load_settings(env, env_file=None)
        assert caught.value.variable == variable
