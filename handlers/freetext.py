"""Free text never meets silence. What people ask (handlers/intents.py) is answered together with
the place and time they name: "jam buka perpus ende" gives Ende's libraries and hours, "acara
besok di sikka" tomorrow's events in Sikka, "kelor" the events with that word in the title.
Thanks and 👍 get a short friendly answer; an apology, when still needed, offers the three most
likely things instead of the whole menu. Keywords are matched in both languages whatever the
person's language, because people mix them.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from handlers import (
    attendance,
    books,
    events,
    help,
    intents,
    libraries,
    onboarding,
    privacy,
    registration,
    reminders,
)
from handlers.common import clip, expired, main_menu
from handlers.intents import Understood
from handlers.places import libraries_named, place_aliases
from handlers.types import Choice, Context

# A rolling week reads better as "the next 7 days" than as a range of dates.
_ROLLING = {"this_week": 7}


def _today(ctx: Context) -> date:
    return ctx.now.astimezone(ZoneInfo(ctx.settings.timezone)).date()


async def understood(ctx: Context) -> Understood:
    return intents.understand(ctx.incoming.text, await place_aliases(ctx), _today(ctx))


async def answer(ctx: Context) -> None:
    said = await understood(ctx)
    if not said.words:
        if said.emoji_only:
            await _thanks(ctx, said)
        else:
            await _sorry(ctx, said)
        return
    if said.intent is not None:
        await said.intent.answer(ctx, said)
        return
    if said.category is not None or said.window is not None:
        await _events(ctx, said)
        return
    if said.regencies:
        await _place(ctx, said)
        return
    if said.rest and await _titles_or_names(ctx, said):
        return
    await _sorry(ctx, said)


# --- answers -----------------------------------------------------------------------------------


async def _sorry(ctx: Context, said: Understood) -> None:
    """Not understood: the three things people most often want, not the whole menu."""
    where = said.regencies[0] if len(said.regencies) == 1 else "h"
    ctx.say(
        ctx.t("freetext.not_understood"),
        ctx.choice("freetext.try_hours", "libs:0" if where == "h" else f"libr:{where}"),
        ctx.choice("freetext.try_week", events.list_payload(where, "*", 7)),
        ctx.choice("freetext.try_help", "help"),
    )


async def _thanks(ctx: Context, said: Understood) -> None:
    ctx.say(ctx.t("freetext.thanks"), ctx.choice("common.menu", "menu"))


async def _ack(ctx: Context, said: Understood) -> None:
    ctx.say(ctx.t("freetext.ack"), ctx.choice("common.menu", "menu"))


async def _greeting(ctx: Context, said: Understood) -> None:
    main_menu(ctx, "freetext.greeting")


async def _menu(ctx: Context, said: Understood) -> None:
    main_menu(ctx)


async def _help(ctx: Context, said: Understood) -> None:
    await help.show_help(ctx)


async def _which_regency(ctx: Context, said: Understood, payload: str) -> None:
    """ "kupang": the city or the regency? Each choice goes on to the same answer there."""
    names = {r.code: r.name for r in await ctx.storage.libraries.regencies()}
    kinds = {r.code: r.kind for r in await ctx.storage.libraries.regencies()}
    choices = [
        Choice(
            ctx.t(
                "freetext.regency_kota" if kinds[c] == "kota" else "freetext.regency_kab",
                name=names[c].removeprefix("Kota "),
            ),  # fmt: skip
            payload.format(c),
        )
        for c in said.regencies[:9]
    ]
    ctx.say(ctx.t("steps.which_one"), *choices)


async def _hours(ctx: Context, said: Understood) -> None:
    if len(said.regencies) > 1:
        await _which_regency(ctx, said, "libr:{}")
        return
    if said.regencies:
        await in_regency(ctx, said.regencies[0], hours_first=True)
        return
    if said.rest and await _libraries(ctx, said):
        return
    near, _ = await ctx.storage.libraries.near(regency_code=ctx.home_regency, limit=5)
    lines = [ctx.t("freetext.hours_title")]
    lines += [f"• {lib.name}: {lib.opening_hours}" for lib in near]
    if any(lib.is_sample for lib in near):
        lines.append(ctx.t("common.sample_note"))
    ctx.say(
        "\n".join(lines),
        *(Choice(clip(lib.name, 60), f"lib:{lib.id}") for lib in near),
        ctx.choice("common.menu", "menu"),
    )


async def _libraries_intent(ctx: Context, said: Understood) -> None:
    if len(said.regencies) > 1:
        await _which_regency(ctx, said, "libr:{}")
    elif said.regencies:
        await in_regency(ctx, said.regencies[0])
    elif not (said.rest and await _libraries(ctx, said)):
        await libraries.show_list(ctx)


async def _libraries(ctx: Context, said: Understood) -> bool:
    found = await libraries_named(ctx, " ".join(said.rest))
    if len(found) == 1:
        await libraries.show_one(ctx, str(found[0]))
        return True
    if found:
        ctx.say(
            ctx.t("freetext.libraries_found"),
            *[Choice(clip(name, 60), f"lib:{i}") for i, name in await _names(ctx, found)],
            ctx.choice("common.menu", "menu"),
        )
        return True
    return False


async def _names(ctx: Context, ids: list[int]) -> list[tuple[int, str]]:
    names = {i: name for i, name, _, _ in await ctx.storage.libraries.names()}
    return [(i, names[i]) for i in ids if i in names]


async def in_regency(ctx: Context, code: str, *, hours_first: bool = False) -> None:
    """A regency's libraries with their opening hours, and its events one tap away."""
    regency = await ctx.storage.libraries.regency(code=code)
    found = await ctx.storage.libraries.in_regency(regency_code=code)
    key = "freetext.hours_in" if hours_first else "freetext.in_regency"
    lines = [ctx.t(key, regency=regency.name)]
    lines += [f"• {lib.name}: {lib.opening_hours}" for lib in found[:8]] or [
        ctx.t("libraries.none")
    ]
    if any(lib.is_sample for lib in found):
        lines.append(ctx.t("common.sample_note"))
    ctx.say(
        "\n".join(lines),
        *(Choice(clip(lib.name, 60), f"lib:{lib.id}") for lib in found[:5]),
        ctx.choice("libraries.its_events", events.list_payload(code)),
        ctx.choice("common.menu", "menu"),
    )


async def regency_button(ctx: Context, arg: str) -> None:
    """libr:<code>: the libraries of a regency (after "which one?")."""
    if arg not in {r.code for r in await ctx.storage.libraries.regencies()}:
        expired(ctx)
        return
    await in_regency(ctx, arg, hours_first=True)


async def _place(ctx: Context, said: Understood) -> None:
    if len(said.regencies) > 1:
        await _which_regency(ctx, said, "libr:{}")
    else:
        await in_regency(ctx, said.regencies[0])


async def _events(ctx: Context, said: Understood, intro: str | None = None) -> None:
    if len(said.regencies) > 1:
        window = said.window
        start = None if window is None or window.label in _ROLLING else window.start
        days = 30 if window is None else _ROLLING.get(window.label, window.days)
        await _which_regency(
            ctx, said, events.list_payload("{}", said.category or "*", days, 0, start)
        )
        return
    where = said.regencies[0] if said.regencies else (ctx.home_regency or "*")
    if not said.regencies and where != "*" and not await _any_events(ctx, said, where):
        where = "*"  # nothing near home then: everywhere, rather than an empty list
    if said.rest and said.window is None and await _titled(ctx, said, intro):
        return
    window = said.window
    if window is None or window.label in _ROLLING:
        days = 30 if window is None else _ROLLING[window.label]
        await events.list_events(
            ctx, where=where, category=said.category or "*", days=days, page=0, intro=intro
        )
        return
    await events.list_events(
        ctx,
        where=where,
        category=said.category or "*",
        days=window.days,
        page=0,
        start=window.start,
        intro=intro,
    )


async def _any_events(ctx: Context, said: Understood, where: str) -> bool:
    window = said.window
    since, until = ctx.now, ctx.now + timedelta(days=30)
    if window is not None:
        if window.label in _ROLLING:
            until = ctx.now + timedelta(days=_ROLLING[window.label])
        else:
            since, until, _ = events.local_days(ctx, window.start, window.days)
    found, _ = await ctx.storage.events.upcoming(
        now=since, until=until, regency_code=where, category=said.category, limit=1
    )
    return bool(found)


async def _titled(ctx: Context, said: Understood, intro: str | None = None) -> bool:
    """Events with the words in their title ("kelor", "tenun buna")."""
    tries = [said.rest] + ([[w] for w in said.rest] if len(said.rest) > 1 else [])
    for words in tries:
        found, total = await ctx.storage.events.titled(
            words=words,
            now=ctx.now,
            until=ctx.now + timedelta(days=events.MAX_WINDOW_DAYS),
            limit=ctx.settings.page_size,
        )
        if found:
            lines = [intro] if intro else []
            lines.append(ctx.t("freetext.titled", words=" ".join(words), count=total))
            lines += [f"{n}. {events.summary(ctx, e)}" for n, e in enumerate(found, start=1)]
            if any(e.is_sample for e in found):
                lines.append(ctx.t("common.sample_note"))
            ctx.say(
                "\n\n".join(lines),
                *(
                    Choice(clip(f"{n}. {e.title}", 60), f"ev:{e.id}")
                    for n, e in enumerate(found, start=1)
                ),  # fmt: skip
                ctx.choice("common.menu", "menu"),
            )
            return True
    return False


async def _titles_or_names(ctx: Context, said: Understood) -> bool:
    return await _titled(ctx, said) or await _libraries(ctx, said)


async def _register(ctx: Context, said: Understood) -> None:
    await _events(ctx, said, intro=ctx.t("freetext.register_intro"))


async def _my_registrations(ctx: Context, said: Understood) -> None:
    await registration.my_events(ctx)


async def _cancel(ctx: Context, said: Understood) -> None:
    """ "sonde bisa datang": the registrations, each with its cancel button."""
    if ctx.resident is not None and ctx.has_profile:
        upcoming = await ctx.storage.registrations.upcoming(
            resident_id=ctx.resident.id, now=ctx.now
        )
        if upcoming:
            ctx.say(ctx.t("freetext.cancel_intro"))
    await registration.my_events(ctx)


async def _check_in(ctx: Context, said: Understood) -> None:
    if said.code is not None:
        await attendance.code_said(ctx, said.code)
    else:
        await attendance.command(ctx)


async def _books(ctx: Context, said: Understood) -> None:
    """ "ada buku tentang kelor?": the libraries' catalogue (handlers/books.py)."""
    if not await books.free_text(ctx, ctx.incoming.text):
        await _sorry(ctx, said)


async def _stop(ctx: Context, said: Understood) -> None:
    await privacy.stop_announcements(ctx)


async def _delete(ctx: Context, said: Understood) -> None:
    await privacy.ask_delete(ctx)


async def _language(ctx: Context, said: Understood) -> None:
    await onboarding.ask_language(ctx)


async def _privacy(ctx: Context, said: Understood) -> None:
    if "data" in said.words:
        await privacy.my_data(ctx)
    else:
        await privacy.show_notice(ctx)


async def _reminders(ctx: Context, said: Understood) -> None:
    await reminders.toggle(ctx)


# The core's intents, most specific first (rank). Other features add theirs in their own module.
# After "cancel": "tidak bisa hadir" is not a check-in.
intents.add("check_in", ("kode", "code", "hadir", "checkin", "check in", "absen"), _check_in,
            rank=16)  # fmt: skip
intents.add(
    "delete_data",
    ("hapus data", "hapus akun", "hapus profil", "delete my data", "delete data", "hapus semua"),
    _delete,
    rank=10,
)
intents.add(
    "stop",
    ("berhenti", "stop", "unsubscribe", "jangan kirim", "tidak mau terima", "jangan kirim lagi"),
    _stop,
    rank=12,
)
intents.add(
    "cancel",
    ("batal", "batalkan", "cancel", "tidak bisa datang", "tidak jadi", "berhalangan",
     "tidak bisa hadir", "cant come", "can t come", "cannot come", "tidak datang"),
    _cancel,
    rank=15,
)  # fmt: skip
intents.add(
    "my_registrations",
    ("acara saya", "pendaftaran saya", "sudah daftar", "sudah terdaftar", "terdaftar",
     "my events", "my registrations", "daftar saya", "saya daftar apa", "status daftar"),
    _my_registrations,
    rank=20,
)  # fmt: skip
intents.add("help", ("bantuan", "help", "tolong", "bantu", "cara pakai", "how to"), _help,
            rank=30)  # fmt: skip
# A book asked for ("buku anak", "novel Pramoedya") before opening hours and event words.
intents.add("books", tuple(books.ASKING), _books, rank=32)
intents.add(
    "hours",
    ("jam buka", "buka jam", "jam layanan", "jam berapa", "buka", "tutup", "opening hours",
     "open", "opening", "hours", "jam operasional", "jadwal buka", "jam kerja"),
    _hours,
    rank=35,
)  # fmt: skip
intents.add("register", ("daftar", "register", "sign up", "join", "mau daftar"), _register,
            rank=40)  # fmt: skip
intents.add(
    "events",
    ("acara", "pelatihan", "training", "kelas", "class", "jadwal", "agenda", "what s on",
     "kursus", "lomba", "pameran", "kegiatan"),
    _events,
    rank=45,
)  # fmt: skip
intents.add(
    "libraries",
    ("perpustakaan", "library", "libraries", "layanan", "services", "taman baca", "alamat",
     "address", "lokasi", "where is", "tempat"),
    _libraries_intent,
    rank=50,
)  # fmt: skip
intents.add(
    "language",
    ("ganti bahasa", "ubah bahasa", "pilih bahasa", "language", "change language",
     "english please"),
    _language,
    rank=60,
)  # fmt: skip
intents.add("language_word", ("bahasa", "bhs"), _language, rank=61, whole=True)
intents.add("privacy", ("privasi", "privacy", "data saya", "my data"), _privacy, rank=62)
intents.add("reminders", ("pengingat", "reminder", "reminders", "ingatkan"), _reminders,
            rank=64)  # fmt: skip
intents.add("menu", ("menu", "mulai", "start", "home", "main menu"), _menu, rank=70)
intents.add(
    "greeting",
    ("halo", "hallo", "helo", "hello", "hai", "hi", "hy", "hey", "p", "pp", "ping", "pagi",
     "siang", "sore", "malam", "selamat pagi", "selamat siang", "selamat sore", "selamat malam",
     "salam", "assalamualaikum", "shalom", "syalom", "om swastiastu", "permisi", "tes", "test",
     "good morning", "morning"),
    _greeting,
    rank=80,
    whole=True,
)  # fmt: skip
intents.add(
    "ack",
    ("ok", "oke", "okay", "okey", "okee", "siap", "baik", "sip", "mantap", "good", "noted",
     "ya", "iya", "iyo", "yes", "betul", "nice", "great", "tidak", "no"),
    _ack,
    rank=85,
    whole=True,
)  # fmt: skip
intents.add(
    "thanks",
    ("terima kasih", "thanks", "thank you", "thank", "makasih", "matur nuwun", "tengkyu"),
    _thanks,
    rank=90,
)
