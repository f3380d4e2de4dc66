"""`pustaka chat` runs the delivery worker: what the outbox sends to the identity in use is
printed with the time; messages for others are counted."""

from __future__ import annotations

import asyncio
import io
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

from bot.runtime import Runtime
from bot.terminal_delivery import TerminalDelivery
from storage.clock import from_db, utcnow
from storage.staff_events import NewEvent
from tests.pustaka_process import COMMAND, pustaka_env, run_pustaka
from tests.staff_support import library_id


async def _wait_for(sink: io.StringIO, text: str, seconds: float = 10.0) -> str:
    for _ in range(int(seconds / 0.05)):
        if text in sink.getvalue():
            return sink.getvalue()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} not printed; got:\n{sink.getvalue()}")


async def test_the_terminal_prints_its_reminders_and_counts_others(runtime: Runtime) -> None:
    starts = utcnow() + timedelta(minutes=90)  # its 2-hour reminder is due at once
    event_id = await runtime.storage.staff_events.create(
        NewEvent(
            library_id=await library_id(runtime, "perpus-ende"),
            title="Kelas Komputer Sore Ini",
            category="computer",
            description="",
            place=None,
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            capacity=10,
            registration_closes_at=None,
            questions=(),
            status="open",
        ),
        actor="test",
        role="admin",
        now=utcnow() - timedelta(days=1),
    )
    registered_at = utcnow() - timedelta(hours=1)  # before the reminder's moment
    for user in ("local", "other"):
        made = await runtime.storage.residents.ensure(
            channel="terminal", external_id=user, language="id", now=utcnow()
        )
        await runtime.storage.residents.give_consent(resident_id=made.id, now=utcnow())
        await runtime.storage.registrations.register(
            event_id=event_id, resident_id=made.id, name=f"Warga {user}", now=registered_at
        )
    sink = io.StringIO()
    delivery = TerminalDelivery(
        runtime.storage,
        runtime.translator,
        channel="terminal",
        recipient="local",
        sink=sink,
        timezone="Asia/Makassar",
        poll_seconds=0.05,
    )
    await delivery.start()
    try:
        printed = await _wait_for(sink, "Kelas Komputer Sore Ini")
        assert "WITA] Pesan masuk:" in printed
        printed = await _wait_for(sink, "pesan antre untuk orang lain")
        # The other resident's 2-hour reminder waits (their 24-hour one came before they
        # registered); nothing was sent to them.
        assert "📨 1 pesan antre untuk orang lain" in printed
    finally:
        await delivery.stop()
    rows = await runtime.storage.db.fetchall(
        "SELECT recipient, status FROM outbox WHERE kind = 'reminder' ORDER BY id"
    )
    statuses = {(r[0], r[1]) for r in rows}
    assert ("local", "sent") in statuses and ("other", "sent") not in statuses


async def test_demo_reminder_makes_a_reminder_due_within_a_minute(
    runtime: Runtime, tmp_path: Path, db_path: Path
) -> None:
    """The README's way to see the scheduler work: register in the terminal chat, then
    `pustaka demo-reminder`; the chat prints the new time, then the reminder."""
    made = await runtime.storage.residents.ensure(
        channel="terminal", external_id="local", language="id", now=utcnow()
    )
    await runtime.storage.residents.give_consent(resident_id=made.id, now=utcnow())
    upcoming, _ = await runtime.storage.events.upcoming(
        now=utcnow(), until=utcnow() + timedelta(days=40), limit=20
    )
    chosen = next(e for e in upcoming if e.is_sample and e.status == "open" and e.capacity)
    await runtime.storage.registrations.register(
        event_id=chosen.id, resident_id=made.id, name="Warga Lokal", now=utcnow()
    )
    done = await asyncio.to_thread(
        run_pustaka, tmp_path, pustaka_env(PUSTAKA_DB=runtime.settings.db_path), "demo-reminder"
    )
    assert done.returncode == 0, done.stderr
    assert f"'{chosen.title}' now starts" in done.stdout and "1 registrants told" in done.stdout
    moved = await runtime.storage.events.get(event_id=chosen.id)
    assert timedelta(hours=2) < moved.starts_at - utcnow() <= timedelta(hours=2, minutes=1)
    sink = io.StringIO()
    delivery = TerminalDelivery(
        runtime.storage,
        runtime.translator,
        channel="terminal",
        recipient="local",
        sink=sink,
        timezone="Asia/Makassar",
        poll_seconds=0.05,
    )
    await delivery.start()  # syncs the reminders at once, as `pustaka chat` does
    try:
        await _wait_for(sink, "Jadwal acara")  # the change, printed at once
    finally:
        await delivery.stop()
    reminders = await runtime.storage.db.fetchall(
        "SELECT due_at FROM outbox WHERE kind = 'reminder' AND recipient = 'local' "
        "AND status = 'pending'"
    )
    due = [from_db(r[0]) for r in reminders]
    assert any(timedelta(0) < d - utcnow() <= timedelta(minutes=1) for d in due), due


def test_pustaka_chat_prints_an_announcement_as_it_is_delivered(tmp_path: Path) -> None:
    """Announcements said "sedang dikirim" and stayed pending in the terminal chat."""
    env = pustaka_env(PUSTAKA_DB=str(tmp_path / "pustaka.db"), PUSTAKA_ADMINS="9001")
    assert run_pustaka(tmp_path, env, "init", "--sample").returncode == 0
    seen: list[str] = []
    arrived = threading.Event()
    with subprocess.Popen(
        [*COMMAND, "chat", "--as", "9001"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        output = process.stdout

        def read() -> None:
            for line in output:
                seen.append(line)
                if "Pesan masuk" in line:
                    arrived.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        # Onboard as a resident of Ende (an admin hears announcements too), then announce.
        for typed in ("1", "1", "11", "/siaran", "Perpustakaan buka sampai malam.", "1", "1", "1"):
            process.stdin.write(typed + "\n")
            process.stdin.flush()
            time.sleep(0.3)  # one line at a time, as a person types
        try:
            assert arrived.wait(30), "".join(seen)  # bounded wait for the worker
        finally:
            process.stdin.write("/quit\n")
            process.stdin.flush()
            process.wait(30)
            reader.join(5)
    text = "".join(seen)
    after = text[text.index("Pesan masuk") :]
    assert "WITA] Pesan masuk:" in text and "Perpustakaan buka sampai malam." in after
