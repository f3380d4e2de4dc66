"""Typed text against the choices shown (handlers/understand.py), on its own: what each kind of
answer picks, and that odd digits never crash the matching."""

from __future__ import annotations

from handlers.common import typed_choice
from handlers.understand import bare_no, match_choice, says_no, typed_age, typed_number, yes_or_no

YES_NO = [["✅ Setuju", "consent:yes", "yes"], ["Tidak setuju", "consent:no", "no"]]
AGES = [
    ["Di bawah 18 tahun", "rq:u18", "age:0-17"],
    ["18–35 tahun", "rq:18_35", "age:18-35"],
    ["36–55 tahun", "rq:36_55", "age:36-55"],
    ["Di atas 55 tahun", "rq:55p", "age:56-120"],
]
PLACES = [
    ["Kota Kupang", "home:kota-kupang", "place:kota-kupang"],
    ["Kupang", "home:kupang", "place:kupang"],
]
# As handlers/places.py builds it: names, "kab"/"kota" forms, then the content file's aliases.
ALIASES = {
    "kota kupang": ("kota-kupang",),
    "kupang": ("kota-kupang", "kupang"),
    "kab kupang": ("kupang",),
    "tts": ("tts",),
}


def test_odd_digits_never_crash() -> None:
    for text in ("²", "①", "٣", "¹²", "2²", "Ⅻ", "𝟐"):
        typed_number(text)
        typed_age(text)
        typed_choice(text, YES_NO)
    assert typed_number("2.") == 2 and typed_number("no 2") == 2 and typed_number("2a") is None


def test_yes_and_no_in_indonesian_and_kupang_malay() -> None:
    for said in ("iya", "iyo", "yoi", "setuju kak", "boleh", "ok", "siap", "betul"):
        assert yes_or_no(said) == "yes", said
        assert match_choice(said, YES_NO).payload == "consent:yes", said
    for said in ("sonde", "son", "tdk", "nggak", "ndak", "jangan", "no", "tidak setuju"):
        assert match_choice(said, YES_NO).payload == "consent:no", said
    assert yes_or_no("ya tidak") is None  # says both


def test_on_a_staff_confirmation_a_no_anywhere_wins() -> None:
    # Cancelling an event or revoking a role: doubt keeps things as they are.
    for said in ("tidak jadi", "jangan dulu", "Sonde", "iya tapi belum", "keep it", "batalkan"):
        assert says_no(said), said
    for said in ("iya", "ya", "ok kak", "setuju"):
        assert not says_no(said), said
    # At the note, a sentence with a no-word in it is the note; a short no leaves.
    assert bare_no("tidak jadi") and bare_no("jangan dulu")
    assert not bare_no("Pengajar tidak bisa hadir karena sakit")


def test_an_age_picks_its_band_and_a_hyphen_reads_as_an_en_dash() -> None:
    assert match_choice("40", AGES).payload == "rq:36_55"
    assert match_choice("18-35", AGES).payload == "rq:18_35"
    assert match_choice("umur 70", AGES).payload == "rq:55p"
    assert match_choice("2", AGES).payload == "rq:18_35"  # a number on the screen is its choice
    assert match_choice("55-an", AGES).payload is None


def test_a_place_that_may_mean_two_is_asked() -> None:
    found = match_choice("kupang", PLACES, ALIASES)
    assert found.payload is None and [p for _, p, _ in found.options] == [
        "home:kota-kupang",
        "home:kupang",
    ]
    assert match_choice("kab kupang", PLACES, ALIASES).payload == "home:kupang"
    assert match_choice("kota kupang", PLACES, ALIASES).payload == "home:kota-kupang"
