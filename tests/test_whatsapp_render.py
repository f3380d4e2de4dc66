"""WhatsApp rendering rules on their own: titles cut on words, long labels split into title and
description, buttons or list by count, long texts split on paragraphs."""

from __future__ import annotations

from bot.channels import whatsapp_render as render
from handlers.types import Choice

TEXTS = render.ListTexts(
    button="Pilih",
    section="Pilihan",
    prompt="Silakan pilih:",
)


def _choices(n: int, label: str = "Pilihan") -> list[Choice]:
    return [Choice(f"{label} {i}", f"p:{i}") for i in range(n)]


def test_labels_are_cut_on_a_word_boundary() -> None:
    assert render.clip("🔔 Aktifkan pengumuman lagi", 20) == "🔔 Aktifkan…"
    assert render.clip("Ya, hapus", 20) == "Ya, hapus"
    head, rest = render.split_label("1. Pelatihan pemasaran digital untuk UMKM desa", 24)
    assert head == "1. Pelatihan pemasaran" and rest == "digital untuk UMKM desa"
    # No space to cut at: a hard cut rather than an empty title.
    head, rest = render.split_label("x" * 30, 24)
    assert head == "x" * 24 and rest == "x" * 6
    # Emoji count double, as WhatsApp counts them.
    assert render.width("📚 Layanan") == 10


def test_up_to_three_choices_are_reply_buttons_with_payload_ids() -> None:
    message = render.choices_message("Setuju?", _choices(3), TEXTS)
    interactive = message["interactive"]
    assert interactive["type"] == "button"
    assert [b["reply"]["id"] for b in interactive["action"]["buttons"]] == ["p:0", "p:1", "p:2"]


def test_buttons_whose_cut_titles_collide_become_a_list() -> None:
    choices = [Choice("Kelas komputer dasar pagi", "a"), Choice("Kelas komputer dasar sore", "b")]
    message = render.choices_message("Pilih kelas", choices, TEXTS)
    assert message["interactive"]["type"] == "list"
    rows = message["interactive"]["action"]["sections"][0]["rows"]
    assert [r["description"] for r in rows] == ["pagi", "sore"]


def test_four_to_ten_choices_are_a_list() -> None:
    for n in (4, 10):
        message = render.choices_message("Menu", _choices(n), TEXTS)
        assert message["interactive"]["type"] == "list"
        assert message["interactive"]["action"]["button"] == "Pilih"
        assert len(message["interactive"]["action"]["sections"][0]["rows"]) == n


def test_a_choice_detail_is_its_row_description() -> None:
    # The core's "more" choice of a paged list says which choices the next page holds.
    more = Choice("Lainnya ›", "~pg:k:1", detail="Pilihan 10–18 dari 25")
    message = render.choices_message("x", [*_choices(9), more], TEXTS)
    rows = message["interactive"]["action"]["sections"][0]["rows"]
    assert rows[-1] == {
        "id": "~pg:k:1",
        "title": "Lainnya ›",
        "description": "Pilihan 10–18 dari 25",
    }
    long = Choice("1. Pelatihan pemasaran digital untuk UMKM desa", "ev:1", detail="Sabtu")
    row = render.choices_message("x", [long, *_choices(3)], TEXTS)["interactive"]["action"]
    assert row["sections"][0]["rows"][0]["description"] == "digital untuk UMKM desa Sabtu"


def test_long_text_is_split_and_choices_follow_with_a_prompt_when_too_long() -> None:
    text = "\n\n".join(f"Paragraf {n} " + "kata " * 150 for n in range(12))
    messages = render.reply_messages(text, _choices(2), TEXTS)
    assert all(m["type"] == "text" for m in messages[:-1])
    assert all(len(m["text"]["body"]) <= 4096 for m in messages[:-1])
    assert all(m["text"]["body"].startswith("Paragraf") for m in messages[:-1])
    assert messages[-1]["interactive"]["body"]["text"] == "Silakan pilih:"
    short = render.reply_messages("Menu utama", _choices(2), TEXTS)
    assert len(short) == 1 and short[0]["interactive"]["body"]["text"] == "Menu utama"
    assert render.reply_messages("Halo", [], TEXTS) == [render.text_message("Halo")]


def test_template_parameters_are_flattened() -> None:
    message = render.template_message("t", "id", ["a\nb\tc     d", ""], ["rem:yes:1"])
    body, button = message["template"]["components"]
    assert [p["text"] for p in body["parameters"]] == ["a b c d", "-"]
    assert button["sub_type"] == "quick_reply" and button["index"] == "0"
