"""What free text asks for: an intent (opening hours, events, register, ...), a place and a time,
read the way people in NTT write ("jam buka perpus ende", "acara besok di sikka", "beta su daftar
ko?", "sonde bisa datang", "kpn ada pelatihan komputer dmn").

Intents are a small registry so a feature adds one with one line, in its own module:

    intents.add("books", ("buku", "book", "novel"), catalogue.answer_books, rank=40)

`phrases` are written in canonical words (after the chat abbreviations and Kupang Malay words
below are expanded) and match at the start of a word; the intent with the lowest rank among those
found wins. The answer is an async function taking the context and the `Understood` text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from rapidfuzz import fuzz, process

from handlers.understand import normal, places_named, vocabulary

# Chat abbreviations, Kupang Malay and common misspellings -> the words phrases are written in.
CANONICAL: Mapping[str, str] = {
    # chat abbreviations
    "yg": "yang", "dgn": "dengan", "dg": "dengan", "sy": "saya", "sya": "saya", "aku": "saya",
    "brp": "berapa", "brapa": "berapa", "kpn": "kapan", "kapn": "kapan", "dmn": "dimana",
    "dmna": "dimana", "mana": "dimana", "gmn": "bagaimana", "gmna": "bagaimana",
    "gimana": "bagaimana", "bgmn": "bagaimana", "tdk": "tidak", "gak": "tidak", "ga": "tidak",
    "gk": "tidak", "nggak": "tidak", "ngga": "tidak", "ndak": "tidak", "nda": "tidak",
    "enggak": "tidak", "sdh": "sudah", "udh": "sudah", "udah": "sudah", "blm": "belum",
    "bsk": "besok", "besuk": "besok", "bsok": "besok", "jm": "jam", "tgl": "tanggal",
    "bln": "bulan", "mgg": "minggu", "hr": "hari", "utk": "untuk", "buat": "untuk",
    "bs": "bisa", "bsa": "bisa", "bisakah": "bisa", "mo": "mau", "pengen": "mau", "pgn": "mau",
    "ingin": "mau", "pingin": "mau", "dtg": "datang", "dateng": "datang", "org": "orang",
    "krn": "karena", "tp": "tapi", "sm": "sama", "aja": "saja", "sj": "saja", "kk": "kak",
    "info": "informasi", "infonya": "informasi", "acr": "acara", "dftr": "daftar",
    "daptar": "daftar", "regis": "daftar", "registrasi": "daftar", "mendaftar": "daftar",
    "pendaftaran": "daftar", "perpus": "perpustakaan", "perpusda": "perpustakaan",
    "perpustakaannya": "perpustakaan", "pustaka": "perpustakaan", "lib": "library",
    "skrg": "sekarang", "skg": "sekarang", "hri": "hari", "bukanya": "buka", "dibuka": "buka",
    "tutupnya": "tutup", "kegiatan": "acara", "event": "acara", "events": "acara",
    "acaranya": "acara", "kegiatannya": "acara", "pelatihannya": "pelatihan",
    "trainings": "training", "workshop": "pelatihan", "kursus": "pelatihan",
    # Kupang Malay
    "beta": "saya", "b": "saya", "sa": "saya", "lu": "kamu", "lo": "kamu", "sonde": "tidak",
    "son": "tidak", "su": "sudah", "ko": "kah", "ju": "juga", "pi": "pergi", "deng": "dengan",
    "bt": "saya", "btl": "batal", "ikut": "daftar",
    # thanks
    "makasih": "terima kasih", "makasi": "terima kasih", "mksh": "terima kasih",
    "mksih": "terima kasih", "trims": "terima kasih", "trimakasih": "terima kasih",
    "terimakasih": "terima kasih", "trmksh": "terima kasih", "tks": "terima kasih",
    "thx": "thanks", "tq": "thanks", "ty": "thanks", "tengkyu": "thanks", "makase": "terima kasih",
    "makaseh": "terima kasih",
}  # fmt: skip

# Words that carry no "what" of their own (what is left after them is looked up as a title).
STOP_WORDS = vocabulary(
    """saya kamu mau ada di ke dari yang untuk apa kapan dimana berapa bagaimana bisa tidak
    sudah belum ini itu juga kah nih sih deh dong ya kak pak bu om ibu bapak mama bapa tanta
    tolong minta informasi tentang dengan dan atau lagi the in at is are where what when how
    a an of for to do i my me you there any please jam buka tutup hari tanggal bulan minggu
    pekan depan besok lusa sekarang nanti acara perpustakaan library libraries pelatihan
    training kelas class event events daftar apakah adakah gimana boleh ingin e eh oh
    sampai mulai berapa lama masih terus tapi sama saja orang kita kami mereka dia lain
    kah lah toh to ka pe pung punya na nya dong pergi datang belajar blajar lokal baru gratis
    cara ajar kelas"""
)

_DAYS = {
    "senin": 0, "monday": 0, "selasa": 1, "tuesday": 1, "rabu": 2, "wednesday": 2,
    "kamis": 3, "thursday": 3, "jumat": 4, "friday": 4, "sabtu": 5, "saturday": 5,
    "minggu": 6, "sunday": 6, "ahad": 6,
}  # fmt: skip
_MONTHS = {
    "januari": 1, "jan": 1, "january": 1, "februari": 2, "feb": 2, "february": 2, "maret": 3,
    "mar": 3, "march": 3, "april": 4, "apr": 4, "mei": 5, "may": 5, "juni": 6, "jun": 6,
    "june": 6, "juli": 7, "jul": 7, "july": 7, "agustus": 8, "agu": 8, "agt": 8, "august": 8,
    "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "october": 10,
    "oct": 10, "november": 11, "nov": 11, "desember": 12, "des": 12, "december": 12, "dec": 12,
}  # fmt: skip
# Emoji that say "ok, thanks" on their own.
THANKS_EMOJI = frozenset("👍🙏👌❤♥💕😊🙂😁😀👏✅🤝💯🥰😍🤗")
_CODE = re.compile(r"\b(?:kode|code|hadir|checkin|check in)\s+([a-z0-9]{4,8})\b")
_DATE = re.compile(r"\b(\d{1,2})\s*[/.]\s*(\d{1,2})(?:\s*[/.]\s*(\d{2,4}))?\b")
_DAY_MONTH = re.compile(r"\b(?:tanggal\s+)?(\d{1,2})\s+([a-z]+)\b")
_TANGGAL = re.compile(r"\btanggal\s+(\d{1,2})\b")


@dataclass(frozen=True, slots=True)
class Window:
    """Whole local days: from `start` days after today, for `days` days."""

    start: int
    days: int
    label: str  # "today", "tomorrow", ..., or "" for a date range named by its days


@dataclass(slots=True)
class Understood:
    text: str  # normalised, abbreviations expanded
    words: tuple[str, ...]
    intent: Intent | None = None
    regencies: list[str] = field(default_factory=list)
    window: Window | None = None
    category: str | None = None
    code: str | None = None
    rest: list[str] = field(default_factory=list)  # words left to look up in titles and names
    emoji_only: bool = False


Answer = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Intent:
    name: str
    phrases: tuple[str, ...]
    answer: Answer
    rank: int = 50
    # Only when the whole message is this intent's words (greetings: "P", "pagi" alone).
    whole: bool = False


INTENTS: list[Intent] = []


def add(name: str, phrases: tuple[str, ...], answer: Answer, *, rank: int = 50,
        whole: bool = False) -> Intent:  # fmt: skip
    """Register an intent; a feature calls this once, at import, in its own module."""
    if any(i.name == name for i in INTENTS):
        raise ValueError(f"intent {name!r} registered twice")
    written = tuple(" ".join(CANONICAL.get(w, w) for w in normal(p).split()) for p in phrases)
    intent = Intent(name, tuple(dict.fromkeys(written)), answer, rank, whole)
    INTENTS.append(intent)
    INTENTS.sort(key=lambda i: i.rank)
    _patterns.cache_clear()
    _keywords.cache_clear()
    return intent


@functools.cache
def _patterns() -> tuple[tuple[Intent, re.Pattern[str]], ...]:
    return tuple(
        (i, re.compile("|".join(rf"(?:^|\s){re.escape(p)}(?=\s|$)" for p in i.phrases)))
        for i in INTENTS
    )


CATEGORY_WORDS: Mapping[str, tuple[str, ...]] = {
    "computer": ("komputer", "computer", "internet", "laptop", "word", "excel"),
    "food": ("olahan", "pangan", "makanan", "food", "kuliner", "masak", "kue", "jagung"),
    "marketing": ("pemasaran", "marketing", "umkm", "jualan", "jual online", "usaha"),
    "english": ("bahasa inggris", "english", "inggris"),
    "children": ("anak", "anak anak", "children", "dongeng", "story", "mendongeng"),
    "weaving": ("tenun", "weaving", "ikat", "menenun", "penenun"),
}
_TIME_WORDS = (
    vocabulary(
        "hari ini besok lusa minggu pekan depan bulan today tomorrow week month next this "
        "sekarang nanti malam tanggal"
    )
    | frozenset(_DAYS)
    | frozenset(_MONTHS)
)


@functools.cache
def _keywords() -> tuple[tuple[str, ...], frozenset[str]]:
    """Words worth correcting a typo towards: intent, category and time words."""
    words = {w for i in INTENTS for p in i.phrases for w in p.split() if len(w) >= 5}
    words |= {w for ps in CATEGORY_WORDS.values() for p in ps for w in p.split() if len(w) >= 5}
    words |= {w for w in _TIME_WORDS if len(w) >= 5}
    words |= {"perpustakaan", "pelatihan", "informasi"}
    return tuple(sorted(words)), frozenset(words)


# English "book" is a thing to read or a verb ("can I book a seat?", "book me a place"): the verb
# means registering, told apart by the words beside it.
_BOOK_VERB_AFTER = vocabulary("to i can could we please pls lets want how")
_BOOK_VERB_BEFORE = vocabulary("a an me us myself seat seats place places spot it into")
_BOOK_NOUN_AFTER = vocabulary("a an the this that any some my your good new")


def _book_verb(words: list[str], index: int) -> bool:
    before = words[index - 1] if index > 0 else ""
    after = words[index + 1] if index + 1 < len(words) else ""
    if before in _BOOK_NOUN_AFTER:
        return False
    return before in _BOOK_VERB_AFTER or after in _BOOK_VERB_BEFORE


def _canonical(words: list[str]) -> list[str]:
    out: list[str] = []
    keywords, known = _keywords()
    for index, word in enumerate(words):
        if word == "book" and _book_verb(words, index):
            word = "daftar"
        word = CANONICAL.get(word, word)
        if len(word) >= 6 and word not in known and not word.isdigit() and " " not in word:
            hit = process.extractOne(word, keywords, scorer=fuzz.ratio, score_cutoff=86)
            if hit is not None:
                word = hit[0]
        out.append(word)
    return " ".join(out).split()


def _window(text: str, raw: str, today: date) -> Window | None:
    def has(phrase: str) -> bool:
        return re.search(rf"(?:^|\s){phrase}(?=\s|$)", text) is not None

    if has("hari ini") or has("today") or has("sekarang") or has("malam ini"):
        return Window(0, 1, "today")
    if has("besok") or has("tomorrow"):
        return Window(1, 1, "tomorrow")
    if has("lusa"):
        return Window(2, 1, "day_after")
    if has("minggu ini") or has("pekan ini") or has("this week"):
        return Window(0, 7, "this_week")
    if has("minggu depan") or has("pekan depan") or has("next week"):
        start = 7 - today.weekday()
        return Window(start, 7, "next_week")
    if has("bulan ini") or has("this month"):
        following = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
        return Window(0, (following - today).days, "this_month")
    if has("bulan depan") or has("next month"):
        first = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
        after = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return Window((first - today).days, (after - first).days, "next_month")
    for name, weekday in _DAYS.items():
        if has(name) and not (name == "minggu" and not has("hari minggu")):
            return Window((weekday - today.weekday()) % 7, 1, "")
    return _date(text, raw, today)


def _date(text: str, raw: str, today: date) -> Window | None:
    """ "12/12", "12 desember", "tanggal 12" (this month, or the next if it is past)."""
    day = month = None
    if (m := _DATE.search(raw)) is not None:
        day, month = int(m.group(1)), int(m.group(2))
    elif (m := _DAY_MONTH.search(text)) is not None and m.group(2) in _MONTHS:
        day, month = int(m.group(1)), _MONTHS[m.group(2)]
    elif (m := _TANGGAL.search(text)) is not None:
        day, month = int(m.group(1)), today.month
        if day < today.day:
            month = month % 12 + 1
    if day is None or month is None or not 1 <= month <= 12:
        return None
    for year in (today.year, today.year + 1):
        try:
            when = date(year, month, day)
        except ValueError:
            return None
        if when >= today:
            return Window((when - today).days, 1, "") if (when - today).days < 400 else None
    return None


# People send the same few things over and over ("halo", "jam buka", "acara minggu ini"): what
# they mean is kept per text, for one alias table and one day at a time.
_CACHE_SIZE = 4096
_cache: dict[str, Understood] = {}
_cache_for: list[object] = [None]


def understand(raw: str, aliases: Mapping[str, tuple[str, ...]], today: date) -> Understood:
    """Intent, place, time, category and the words left over, from one free-text message (the
    result is shared: read it, do not change it)."""
    if _cache_for[0] != (id(aliases), today) or len(_cache) >= _CACHE_SIZE:
        _cache.clear()
        _cache_for[0] = (id(aliases), today)
    found = _cache.get(raw)
    if found is None:
        found = _cache[raw] = _understand(raw, aliases, today)
    return found


def _understand(raw: str, aliases: Mapping[str, tuple[str, ...]], today: date) -> Understood:
    stripped = raw.strip()
    words = _canonical(normal(stripped).split())
    text = " ".join(words)
    found = Understood(text=text, words=tuple(words))
    if not words:
        found.emoji_only = bool(stripped) and any(ch in THANKS_EMOJI for ch in stripped)
        return found
    code = _CODE.search(text)
    if code is not None:
        found.code = code.group(1).upper()
    for intent, pattern in _patterns():
        if pattern.search(text) is None:
            continue
        if intent.whole and not _only(words, intent):
            continue
        found.intent = intent
        break
    found.window = _window(text, stripped.casefold(), today)
    for category, phrases in CATEGORY_WORDS.items():
        if any(re.search(rf"(?:^|\s){p}", text) for p in phrases):
            found.category = category
            break
    place_words = " ".join(w for w in words if w not in _TIME_WORDS or w in aliases)
    found.regencies = places_named(place_words, aliases)
    named = _alias_words(place_words, aliases) if found.regencies else set()
    intent_words = {w for p in found.intent.phrases for w in p.split()} if found.intent else set()
    category_words = (
        {w for p in CATEGORY_WORDS[found.category] for w in p.split()} if found.category else set()
    )
    found.rest = [
        w
        for w in words
        if w not in STOP_WORDS
        and w not in category_words
        and w not in named
        and w not in intent_words
        and w not in _TIME_WORDS
        and not w.isdigit()
        and len(w) >= 3
    ]
    return found


def _only(words: list[str], intent: Intent) -> bool:
    allowed = {w for p in intent.phrases for w in p.split()} | {
        "kak", "pak", "bu", "om", "admin", "min", "selamat", "semua", "pustaka", "bot",
        "perpustakaan", "ka", "kk", "tanta", "nona", "bro", "sis", "everyone", "there",
    }  # fmt: skip
    return all(w in allowed for w in words)


def _alias_words(words: str, aliases: Mapping[str, tuple[str, ...]]) -> set[str]:
    tokens = words.split()
    named: set[str] = set()
    for size in (3, 2, 1):
        for start in range(len(tokens) - size + 1):
            phrase = tokens[start : start + size]
            if " ".join(phrase) in aliases:
                named |= set(phrase)
    if not named:  # a typo of a place ("sika"): the closest word was the place
        for token in tokens:
            if len(token) >= 4 and places_named(token, aliases):
                named.add(token)
    return named
