"""Roles through the real Application: who may run what, granting, revoking, the audit log."""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.channels.telegram import TelegramSender
from bot.config import Settings
from bot.delivery.limits import ChannelLimiter, Limits
from bot.delivery.worker import DeliveryWorker
from bot.runtime import Runtime
from storage.clock import utcnow
from tests.fakes.telegram_api import Call, FakeBotApi
from tests.pustaka_process import pustaka_env, run_pustaka
from tests.staff_support import ADMIN, library_id, resident
from tests.staff_support import settings as settings  # noqa: F401 - fixture with an admin
from tests.telegram_harness import TelegramHarness, buttons, payloads, texts

RESIDENT = 7101
LIBRARIAN = 7102
COORDINATOR = 7103
OTHER = 7104

STAFF_COMMANDS = [
    "/siaran",
    "/broadcast",
    "/siaranku",
    "/peran",
    "/beriperan 7101 admin",
    "/cabutperan 7101",
    "/audit",
]


async def test_a_resident_gets_the_unknown_command_answer_for_every_staff_command(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await resident(runtime, RESIDENT, "ende")
    unknown = texts(await tg.send(RESIDENT, "/tidakada"))
    for command in STAFF_COMMANDS:
        assert texts(await tg.send(RESIDENT, command)) == unknown, command
    # Nobody without a role leaves a trace or gains a flow.
    entries, _ = await runtime.storage.staff.audit_entries()
    assert not [e for e in entries if e.actor == f"telegram:{RESIDENT}"]
    # Staff buttons crafted by hand get the expired answer, like any unknown button.
    expired = texts(await tg.tap(RESIDENT, "nosuch:1"))
    assert texts(await tg.tap(RESIDENT, "bc:a:all")) == expired
    assert texts(await tg.tap(RESIDENT, "srg:r:admin")) == expired


async def test_admin_grants_a_librarian_by_id_and_scope_applies(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    calls = await tg.send(ADMIN, "/beriperan 7102 pustakawan perpus-ende")
    assert "Pustakawan — Perpustakaan Daerah Kabupaten Ende" in texts(calls)
    role = await runtime.storage.staff.role_of(channel="telegram", external_id=str(LIBRARIAN))
    assert role is not None and role.library_id == await library_id(runtime, "perpus-ende")
    assert role.regency == "ende" and not role.province_wide

    # The librarian has staff commands now, as buttons under /peran, but not the admin ones.
    calls = await tg.send(LIBRARIAN, "/peran")
    assert "Peran Anda: Pustakawan" in texts(calls)
    assert payloads(calls) == [
        "stc:acarabaru",
        "stc:kelolaacara",
        "stc:siaran",
        "stc:siaranku",
        "stc:peserta",
        "stc:ekspor",
    ]
    assert "Acara baru" in texts(await tg.tap(LIBRARIAN, "stc:acarabaru"))
    await tg.send(LIBRARIAN, "/batal")
    unknown = texts(await tg.send(LIBRARIAN, "/tidakada"))
    assert texts(await tg.tap(LIBRARIAN, "stc:audit")) == unknown
    assert texts(await tg.send(LIBRARIAN, "/audit")) == unknown
    assert texts(await tg.send(LIBRARIAN, "/beriperan 7101 admin")) == unknown
    assert texts(await tg.send(LIBRARIAN, "/cabutperan 9001")) == unknown

    # Their announcement reaches Ende only; a crafted button for Alor is refused and audited.
    await tg.send(LIBRARIAN, "/siaran")
    calls = await tg.send(LIBRARIAN, "Perpustakaan tutup hari Jumat.")
    assert "bc:a:all" in payloads(calls) and "bc:a:rs" not in payloads(calls)
    assert ("📍 Semua warga Ende", "bc:a:all") in buttons(calls)
    calls = await tg.tap(LIBRARIAN, "bc:a:r:alor")
    assert "kedaluwarsa" in texts(calls)
    entries, _ = await runtime.storage.staff.audit_entries()
    assert any(e.action == "refused" and e.actor == f"telegram:{LIBRARIAN}" for e in entries)


async def test_admin_grants_a_coordinator_by_username_with_buttons(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    tg.usernames[COORDINATOR] = "Maria_Alor"
    await tg.onboard(COORDINATOR, regency="alor")  # has written to the bot: username known
    calls = await tg.send(ADMIN, "/beriperan @maria_alor")
    assert payloads(calls) == ["srg:r:admin", "srg:r:coordinator", "srg:r:librarian", "stc:peran"]
    calls = await tg.tap(ADMIN, "srg:r:coordinator")
    assert "srg:s:*" in payloads(calls) and "srg:s:alor" in payloads(calls)
    calls = await tg.tap(ADMIN, "srg:s:alor")
    assert f"telegram:{COORDINATOR}" in texts(calls) and "Koordinator — Alor" in texts(calls)
    # The grant buttons cannot be replayed once the flow ended.
    assert "kedaluwarsa" in texts(await tg.tap(ADMIN, "srg:s:ende"))

    calls = await tg.send(ADMIN, "/beriperan @belumpernah")
    assert "tidak mengenali" in texts(calls)


async def test_grant_by_forwarded_message_and_by_typed_answer(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await tg.send(ADMIN, "/beriperan")
    forward = {
        "text": "Halo, saya pustakawan Alor",
        "forward_origin": {
            "type": "user",
            "date": 1,
            "sender_user": {"id": OTHER, "is_bot": False, "first_name": "Yohana"},
        },
    }
    calls = await tg.send_raw(ADMIN, forward)
    assert f"telegram:{OTHER}" in texts(calls)
    await tg.tap(ADMIN, "srg:r:librarian")
    calls = await tg.tap(ADMIN, "srg:lr:alor")
    alor = await library_id(runtime, "perpus-alor")
    assert f"srg:l:{alor}" in payloads(calls)
    calls = await tg.tap(ADMIN, f"srg:l:{alor}")
    assert "Pustakawan" in texts(calls)

    # Answering a forwarded message with /cabutperan names its sender.
    reply = {
        "text": "/cabutperan",
        "entities": [{"type": "bot_command", "offset": 0, "length": 11}],
        "reply_to_message": {
            "message_id": 1,
            "date": 1,
            "chat": {"id": ADMIN, "type": "private"},
            "text": "Halo, saya pustakawan Alor",
            "forward_origin": forward["forward_origin"],
        },
    }
    calls = await tg.send_raw(ADMIN, reply)
    assert f"telegram:{OTHER}" in texts(calls) and "srv:y:librarian" in payloads(calls)
    calls = await tg.tap(ADMIN, "srv:y:librarian")
    assert "dicabut" in texts(calls)
    assert await runtime.storage.staff.role_of(channel="telegram", external_id=str(OTHER)) is None

    # Typed answers to "who?" are checked.
    await tg.send(ADMIN, "/beriperan")
    assert "tidak mengenali" in texts(await tg.send(ADMIN, "bukan-id"))
    calls = await tg.send(ADMIN, "7105")
    assert "srg:r:admin" in payloads(calls)
    assert "dibatalkan" in texts(await tg.send(ADMIN, "/batal"))
    assert await runtime.storage.staff.role_of(channel="telegram", external_id="7105") is None


async def test_revoke_takes_effect_at_once_even_mid_flow(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await tg.send(ADMIN, "/beriperan 7102 librarian perpus-ende")
    await tg.send(LIBRARIAN, "/siaran")  # in the middle of writing an announcement
    calls = await tg.send(ADMIN, "/cabutperan 7102")
    assert "Cabut peran Pustakawan" in texts(calls)
    # A no-word keeps the role; the role works until the confirmation.
    assert "tidak diubah" in texts(await tg.send(ADMIN, "sonde"))
    assert await runtime.storage.staff.role_of(channel="telegram", external_id="7102")
    await tg.send(ADMIN, "/cabutperan 7102")
    calls = await tg.send(ADMIN, "Ya, cabut peran")  # the button's words, typed
    assert "dicabut" in texts(calls)
    unknown = texts(await tg.send(LIBRARIAN, "/tidakada"))
    assert texts(await tg.send(LIBRARIAN, "/siaran")) == unknown
    calls = await tg.send(LIBRARIAN, "Teks pengumuman yang terlambat")
    assert "bc:a:all" not in payloads(calls)
    assert "tidak punya peran" in texts(await tg.send(ADMIN, "/cabutperan 7102"))
    # The last admin cannot be removed, not even by themselves.
    await tg.send(ADMIN, f"/cabutperan {ADMIN}")
    assert "admin terakhir" in texts(await tg.tap(ADMIN, "srv:y:admin"))
    assert await runtime.storage.staff.role_of(channel="telegram", external_id=str(ADMIN))
    entries, _ = await runtime.storage.staff.audit_entries()
    assert [e.target for e in entries if e.action == "role.revoke"] == ["telegram:7102"]


async def test_roles_list_and_audit_for_admins_in_english(
    tg: TelegramHarness, runtime: Runtime
) -> None:
    await resident(runtime, ADMIN, "kota-kupang", language="en")
    await tg.send(ADMIN, "/grantrole 7103 coordinator all", "en")
    calls = await tg.send(ADMIN, "/roles", "en")
    text = texts(calls)
    assert f"telegram:{ADMIN} — Admin (province) — all of NTT" in text
    assert "telegram:7103 — Coordinator — all of NTT" in text
    calls = await tg.send(ADMIN, "/audit", "en")
    text = texts(calls)
    assert "Audit log (page 1/1)" in text
    # In words, with the time in WITA; the admin who configured nobody shows by name or id.
    assert (
        f"WITA · telegram:{ADMIN}, Admin (province): granted the role Coordinator (province) "
        "to telegram:7103"
    ) in text
    assert f"telegram:{ADMIN}, Admin (province): opened /beriperan" in text
    assert "srg" not in text and "srl" not in text  # no raw button payloads


async def test_configuration_only_adds_admins(runtime: Runtime) -> None:
    """A start without PUSTAKA_ADMINS (or with other ids) removed the admin an earlier start
    created, without a trace. Now the configuration only adds, and says so in the audit log."""
    staff = runtime.storage.staff
    assert (await staff.role_of(channel="telegram", external_id=str(ADMIN))) is not None
    assert await staff.seed_admins([], now=utcnow()) == 0
    assert await staff.seed_admins([("telegram", "42")], now=utcnow()) == 1
    assert await staff.seed_admins([("telegram", "42")], now=utcnow()) == 0
    kept = await staff.role_of(channel="telegram", external_id=str(ADMIN))
    assert kept is not None and kept.role == "admin"
    role = await staff.role_of(channel="telegram", external_id="42")
    assert role is not None and role.role == "admin" and role.granted_by == "config"
    entries, _ = await staff.audit_entries()
    assert [e.target for e in entries if e.action == "role.grant"][0] == "telegram:42"


async def test_an_admin_from_the_configuration_survives_a_start_without_it(
    tg: TelegramHarness, runtime: Runtime, settings: Settings
) -> None:
    await tg.send(ADMIN, "/beriperan")  # an admin session open in the middle of a flow
    restarted = await Runtime.open(replace(settings, admins=()))
    await restarted.close()
    calls = await tg.send(ADMIN, "7105")
    assert "srg:r:admin" in payloads(calls)
    calls = await tg.send(ADMIN, "/peran")
    assert "Admin (provinsi)" in texts(calls)


async def test_a_person_holds_several_roles(tg: TelegramHarness, runtime: Runtime) -> None:
    await tg.send(ADMIN, "/beriperan 7106 pustakawan perpus-ende")
    await tg.send(ADMIN, "/beriperan 7106 koordinator alor")
    held = await runtime.storage.staff.roles_of(channel="telegram", external_id="7106")
    assert [r.role for r in held] == ["coordinator", "librarian"]
    calls = await tg.send(7106, "/peran")
    assert "Koordinator — Alor" in texts(calls) and "Pustakawan — Perpustakaan" in texts(calls)
    assert "stc:statistik" in payloads(calls)  # the coordinator's commands too
    # Revoking asks which role, then confirms; the other role stays.
    calls = await tg.send(ADMIN, "/cabutperan 7106")
    assert {"srv:r:coordinator", "srv:r:librarian"} <= set(payloads(calls))
    await tg.tap(ADMIN, "srv:r:coordinator")
    await tg.tap(ADMIN, "srv:y:coordinator")
    held = await runtime.storage.staff.roles_of(channel="telegram", external_id="7106")
    assert [r.role for r in held] == ["librarian"]
    # Effective on the next message, without a restart.
    unknown = texts(await tg.send(7106, "/tidakada"))
    assert texts(await tg.send(7106, "/statistik")) == unknown


def test_terminal_chat_as_a_configured_admin(tmp_path: Path) -> None:
    """`pustaka chat --as USER_ID` gives the terminal that Telegram user's role."""
    env = pustaka_env(PUSTAKA_DB=str(tmp_path / "pustaka.db"), PUSTAKA_ADMINS="9001")

    def pustaka(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return run_pustaka(tmp_path, env, *args, stdin=stdin)

    assert pustaka("init", "--sample").returncode == 0
    done = pustaka("chat", "--as", "9001", stdin="/peran\n/beriperan 555 pustakawan perpus-ende\n")
    assert done.returncode == 0, done.stderr
    assert "telegram:9001 — Admin (provinsi) — seluruh NTT" in done.stdout
    assert "telegram:555 sekarang: Pustakawan" in done.stdout
    # The same commands typed by a resident in the terminal are unknown commands.
    done = pustaka("chat", stdin="/peran\n")
    assert "perintah itu tidak dikenal" in done.stdout


async def test_staff_see_their_commands_in_their_chat_menu(
    tg: TelegramHarness, runtime: Runtime, fake_api: FakeBotApi
) -> None:
    """Per-chat command scope, set through the outbox when a role changes, cleared on revoke."""
    await tg.send(ADMIN, "/beriperan 7107 koordinator ende")

    async def deliver() -> list[Call]:
        fake_api.clear()
        worker = DeliveryWorker(
            runtime.storage,
            runtime.translator,
            {"telegram": TelegramSender(tg.app.bot)},
            {"telegram": ChannelLimiter(Limits(overall_rate=1000, chat_rate=1000, chat_burst=10))},
        )
        await worker.start()
        try:
            worker.wake()
            for _ in range(500):  # bounded wait for the worker, not a timing assertion
                rows = await runtime.storage.db.fetchall(
                    "SELECT count(*) FROM outbox WHERE kind = 'staff_menu' AND status = 'pending'"
                )
                if rows[0][0] == 0 and worker.in_flight == 0:
                    break
                await asyncio.sleep(0.01)
        finally:
            await worker.stop()
        return [c for c in fake_api.calls if c.method.endswith("MyCommands")]

    calls = await deliver()
    scoped = {_json(c.params["scope"])["chat_id"]: c for c in calls}
    menu = scoped[7107]
    assert menu.method == "setMyCommands"
    names = [c["command"] for c in _json(menu.params["commands"])]
    assert names[:2] == ["start", "menu"]  # the public menu first
    assert {"peran", "statistik", "kelolaacara"} <= set(names) and "beriperan" not in names
    assert ADMIN in scoped and "beriperan" in json.dumps(_json(scoped[ADMIN].params["commands"]))
    # Revoked: the chat's own menu is removed, so the default one shows again.
    await tg.send(ADMIN, "/cabutperan 7107")
    await tg.tap(ADMIN, "srv:y:coordinator")
    calls = await deliver()
    assert [(c.method, _json(c.params["scope"])["chat_id"]) for c in calls] == [
        ("deleteMyCommands", 7107)
    ]
    # Staff from before menus existed get one at the next start; a restart adds nothing.
    async with runtime.storage.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO staff_roles (channel, external_id, role, regency_code, library_id, "
            "granted_by, granted_at) VALUES ('telegram', '7108', 'coordinator', NULL, NULL, "
            "'telegram:9001', '2026-01-01T00:00:00Z')"
        )
    assert (
        await runtime.storage.staff.queue_menus(now=utcnow()) == 1
    )  # the admin's was queued at start
    assert await runtime.storage.staff.queue_menus(now=utcnow()) == 0
    calls = await deliver()
    assert [_json(c.params["scope"])["chat_id"] for c in calls] == [7108]


def _json(value: object) -> Any:
    """A Bot API parameter as the fake received it (JSON text in a form, or already parsed)."""
    return json.loads(value) if isinstance(value, str) else value
