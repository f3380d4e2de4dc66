"""A readable audit log with filters, and no staff screen without a way back."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.runtime import Runtime
from storage.clock import utcnow
from storage.staff_events import NewEvent
from tests.staff_support import ADMIN, library_id, resident
from tests.staff_support import settings as settings  # noqa: F401 - fixture with an admin
from tests.telegram_harness import TelegramHarness, payloads, texts

LIBRARIAN = 7701
WITA = ZoneInfo("Asia/Makassar")


async def _event(runtime: Runtime, title: str) -> int:
    starts = utcnow() + timedelta(days=6)
    return await runtime.storage.staff_events.create(
        NewEvent(
            library_id=await library_id(runtime, "perpus-ende"),
            title=title,
            category="computer",
            description="",
            place=None,
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            capacity=5,
            registration_closes_at=None,
            questions=(),
            status="open",
        ),
        actor=f"telegram:{LIBRARIAN}",
        role="librarian",
        now=utcnow(),
    )


async def test_the_audit_log_reads_as_sentences_and_filters(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    librarian = await resident(runtime, LIBRARIAN, "ende")
    await runtime.storage.residents.set_name(
        resident_id=librarian.id, name="Maria Bunga", now=utcnow()
    )
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    event_id = await _event(runtime, "Pelatihan Komputer Dasar")
    other = await _event(runtime, "Kelas Menjahit")
    await tg.tap(LIBRARIAN, f"sev:x:{event_id}")
    await tg.tap(LIBRARIAN, f"sev:xn:{event_id}")
    await tg.tap(LIBRARIAN, f"sev:xy:{event_id}")
    await tg.tap(LIBRARIAN, f"sev:ry:{event_id}")
    await tg.tap(LIBRARIAN, f"sev:c:{other}")
    await tg.tap(LIBRARIAN, f"sev:cc:{other}")

    text = texts(await tg.send(ADMIN, "/audit"))
    today = utcnow().astimezone(WITA).strftime("%d-%m-%Y")
    assert (
        f"{today} " in text
        and " WITA · Maria Bunga [telegram:7701], Pustakawan: membatalkan acara "
        "«Pelatihan Komputer Dasar»"
        in text
    )
    assert "memulihkan acara «Pelatihan Komputer Dasar»" in text
    assert "menutup pendaftaran acara «Kelas Menjahit»" in text
    assert "memberi peran Pustakawan" in text and "kepada Maria Bunga [telegram:7701]" in text
    # No raw payloads or targets, as "sev e:2" or "sev x:9" were.
    assert "sev" not in text and "event:" not in text

    by_event = texts(await tg.send(ADMIN, f"/audit acara {other}"))
    assert (
        "«Kelas Menjahit»" in by_event
        and "Pelatihan Komputer Dasar»" not in by_event.split("\n", 1)[1]
    )
    by_person = texts(await tg.send(ADMIN, f"/audit {LIBRARIAN}"))
    assert "membatalkan acara" in by_person and "membuka /audit" not in by_person
    by_day = texts(await tg.send(ADMIN, f"/audit {today}"))
    assert "membatalkan acara" in by_day
    tomorrow = (utcnow() + timedelta(days=1)).astimezone(WITA).strftime("%d-%m-%Y")
    assert "Tidak ada catatan audit" in texts(await tg.send(ADMIN, f"/audit {tomorrow}"))
    assert "tidak mengenali" in texts(await tg.send(ADMIN, "/audit kemarin sore"))


async def test_every_staff_screen_has_back_and_menu(tg: TelegramHarness, runtime: Runtime) -> None:
    """/peserta, /kelolaacara, /siaranku and the /beriperan result were dead ends."""
    await tg.send(ADMIN, f"/beriperan {LIBRARIAN} pustakawan perpus-ende")
    event_id = await _event(runtime, "Pelatihan Komputer Dasar")
    screens = {
        "/beriperan result": await tg.send(ADMIN, "/beriperan 7702 pustakawan perpus-ende"),
        "/kelolaacara": await tg.send(LIBRARIAN, "/kelolaacara"),
        "event": await tg.tap(LIBRARIAN, f"sev:e:{event_id}"),
        "/peserta": await tg.send(LIBRARIAN, "/peserta"),
        "registrants": await tg.tap(LIBRARIAN, f"spe:e:{event_id}:0"),
        "/siaranku (none)": await tg.send(LIBRARIAN, "/siaranku"),
        "/statistik": await tg.send(ADMIN, "/statistik"),
        "/audit": await tg.send(ADMIN, "/audit"),
        "/ekspor": await tg.send(LIBRARIAN, "/ekspor"),
        "export": await tg.tap(LIBRARIAN, f"sex:e:{event_id}"),
    }
    for name, calls in screens.items():
        assert "stc:peran" in payloads(calls), name
    for name in ("event", "registrants", "export"):
        assert any(
            p.endswith(":0") and p.startswith(("sev:l", "spe:")) for p in payloads(screens[name])
        ), name
    # Inside an announcement: the audience question and its sub-lists lead back.
    await tg.send(LIBRARIAN, "/siaran")
    calls = await tg.send(LIBRARIAN, "Perpustakaan buka sampai malam.")
    assert "stc:peran" in payloads(calls)
    calls = await tg.tap(LIBRARIAN, "bc:a:ts")
    assert "bc:aud" in payloads(calls) and "stc:peran" in payloads(calls)
    calls = await tg.tap(LIBRARIAN, "bc:aud")
    assert "bc:a:all" in payloads(calls)
    assert "stc:peran" in payloads(await tg.tap(LIBRARIAN, "bc:x"))
    # The staff menu button opens the commands of one's role.
    calls = await tg.tap(LIBRARIAN, "stc:peran")
    assert "stc:kelolaacara" in payloads(calls)
