"""WhatsApp as Meta runs it today (issue 17), through signed webhooks to the real server and the
stricter fake Graph API: people known only by their business-scoped user id, changed numbers,
reactions, marketing opt-outs, files in the types Meta takes, one failed part of an answer, the
error table for send calls and for failures reported later, account-wide pauses and the
operators' alert, templates' categories and parameter caps, and staff typing phone numbers."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.channels.base import (
    Deferred,
    Outbound,
    OutsideWindow,
    RateLimited,
    SendError,
    TransientError,
    Unreachable,
)
from bot.channels.whatsapp_errors import (
    CODES,
    AccountProblem,
    Action,
    MarketingStopped,
)
from bot.config import ConfigError
from bot.config_whatsapp import WhatsAppTemplate, load_templates
from bot.runtime import Runtime
from handlers.phone_numbers import NotAPhoneNumber, normalise_phone
from handlers.types import Choice
from storage.clock import from_db, utcnow
from storage.outbox import OutboxMessage, enqueue
from storage.whatsapp import WhatsAppRepo
from tests.conftest import whatsapp_settings
from tests.fakes.whatsapp_api import FakeGraphApi, graph_error
from tests.registration_scenarios import event_id, register_and_confirm
from tests.whatsapp_harness import FakeClock, WhatsAppHarness, envelope, texts

PHONE = "6281234570001"
NEW_PHONE = "6281234570099"
USER_ID = "ID.1502576394655843"
COMPUTER = "sampel-komputer-dasar-kupang-1"
CHANNEL = "whatsapp"


async def _resident(runtime: Runtime, identity: str) -> dict[str, Any] | None:
    row = await runtime.storage.db.fetchone(
        "SELECT id, external_id, unreachable_at FROM residents "
        "WHERE channel = 'whatsapp' AND external_id = ?",
        (identity,),
    )
    return dict(row) if row is not None else None


def _reminder(identity: str, **changes: Any) -> Outbound:
    values: dict[str, Any] = {
        "recipient": identity,
        "text": "Pengingat: Kelas komputer besok.",
        "choices": (Choice("Ya, saya datang", "rem:yes:1"), Choice("Batal", "rem:no:1")),
        "kind": "reminder",
        "params": {"event": "Kelas komputer", "when": "Sabtu pukul 09.00 WITA"},
    }
    values.update(changes)
    return Outbound(**values)


# --- who a person is -----------------------------------------------------------------------


async def test_a_resident_known_only_by_user_id_registers_for_an_event(
    wa: WhatsAppHarness, runtime: Runtime, wa_api: FakeGraphApi
) -> None:
    await wa.onboard(USER_ID)
    event = await event_id(runtime, COMPUTER)
    sent = await register_and_confirm(wa, USER_ID, event, "Yohana Bunga")
    assert "terdaftar" in texts(sent).lower() or "berhasil" in texts(sent).lower()
    resident = await _resident(runtime, USER_ID)
    assert resident is not None
    registrations = await runtime.storage.registrations.upcoming(
        resident_id=resident["id"], now=utcnow()
    )
    assert [r.event_id for r in registrations] == [event]
    # Every answer went to `recipient` (the user id); Meta refuses a user id in `to`.
    mine = wa_api.to(USER_ID)
    assert mine and all(s.body.get("recipient") == USER_ID for s in mine)
    assert all("to" not in s.body for s in mine)
    assert wa_api.refused == []


async def test_phone_and_user_id_are_both_kept_and_either_finds_the_person(
    wa: WhatsAppHarness, runtime: Runtime, wa_api: FakeGraphApi
) -> None:
    payload = wa.message(PHONE, "text", {"body": "/start"})
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"][0]["from_user_id"] = USER_ID
    value["contacts"][0]["user_id"] = USER_ID
    await wa.deliver(PHONE, payload)
    await wa.tap(PHONE, "lang:id")
    await wa.tap(PHONE, "consent:yes")
    await wa.tap(PHONE, "home:ende")
    repo = WhatsAppRepo(runtime.storage.db)
    address = await repo.address(identity="+" + PHONE)
    assert (address.phone, address.user_id) == ("+" + PHONE, USER_ID)
    # Later the person hides their number behind a username: same resident, same answers.
    sent = await wa.send(USER_ID, "/datasaya")
    assert sent == []  # answered `to` the phone number Meta still accepts
    mine = wa_api.to(PHONE)
    assert "Ende" in mine[-1].text or "Ende" in texts(mine[-3:])
    assert await _resident(runtime, USER_ID) is None


async def test_a_changed_number_keeps_the_resident_and_moves_their_messages(
    wa: WhatsAppHarness, runtime: Runtime, wa_api: FakeGraphApi, wa_clock: FakeClock
) -> None:
    await wa.onboard(PHONE)
    event = await event_id(runtime, COMPUTER)
    await register_and_confirm(wa, PHONE, event, "Maria")
    system = wa.message(
        PHONE,
        "system",
        {
            "body": f"User Maria changed from {PHONE} to {NEW_PHONE}",
            "type": "user_changed_number",
            "wa_id": NEW_PHONE,
            "user_id": "ID.99887766",
        },
    )
    assert await wa.deliver(PHONE, system) == []
    # A reminder queued for the resident (whose identity is the old number) reaches the new one.
    await wa.channel.sender.send(_reminder("+" + PHONE))
    assert wa_api.to(NEW_PHONE)[-1].type == "interactive"
    # Writing from the new number is the same person, still registered.
    sent = await wa.send(NEW_PHONE, "/acarasaya")
    assert "Pelatihan Komputer Dasar" in texts(sent)
    assert await _resident(runtime, "+" + NEW_PHONE) is None


async def test_messages_without_any_sender_are_ignored(
    wa: WhatsAppHarness, wa_api: FakeGraphApi
) -> None:
    payload = wa.message(PHONE, "text", {"body": "halo"})
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    assert (await wa.post(payload)).status == 200
    assert wa_api.sent == []


# --- reactions and marketing opt-outs --------------------------------------------------------


async def test_reactions_are_not_answered(wa: WhatsAppHarness) -> None:
    await wa.onboard(PHONE)
    added = wa.message(PHONE, "reaction", {"message_id": "wamid.OUT1", "emoji": "👍"})
    removed = wa.message(PHONE, "reaction", {"message_id": "wamid.OUT1"})
    assert await wa.deliver(PHONE, added) == []
    assert await wa.deliver(PHONE, removed) == []


def _preference(value: str) -> dict[str, Any]:
    return (
        envelope(
            {
                "contacts": [{"profile": {"name": "Warga"}, "wa_id": PHONE}],
                "user_preferences": [
                    {
                        "wa_id": PHONE,
                        "detail": "User requested to stop marketing messages",
                        "category": "marketing_messages",
                        "value": value,
                        "timestamp": 1764000000,
                    }
                ],
            }
        )
        | {}
    )


async def test_a_marketing_opt_out_stops_announcements_only(
    wa: WhatsAppHarness, runtime: Runtime, wa_api: FakeGraphApi
) -> None:
    await wa.onboard(PHONE)
    payload = _preference("stop")
    payload["entry"][0]["changes"][0]["field"] = "user_preferences"
    assert (await wa.post(payload)).status == 200
    sender = wa.channel.sender
    announcement = Outbound("+" + PHONE, "Pengumuman: perpustakaan tutup.", kind="announcement")
    with pytest.raises(MarketingStopped):
        await sender.send(announcement)
    before = len(wa_api.sent)
    await sender.send(_reminder("+" + PHONE))  # reminders still go
    assert len(wa_api.sent) == before + 1
    resident = await _resident(runtime, "+" + PHONE)
    assert resident is not None and resident["unreachable_at"] is None
    payload = _preference("resume")
    payload["entry"][0]["changes"][0]["field"] = "user_preferences"
    await wa.post(payload)
    await sender.send(announcement)
    assert wa_api.sent[-1].text.startswith("Pengumuman")


async def test_announcement_templates_are_marketing_and_parameters_are_capped(
    tmp_path: Path, wa: WhatsAppHarness, wa_api: FakeGraphApi, wa_clock: FakeClock
) -> None:
    path = tmp_path / "templates.yaml"
    path.write_text(
        "announcement:\n  name: pustaka_pengumuman\n  category: utility\n"
        "  languages: {id: id}\n  params: [text]\n",
        "utf-8",
    )
    with pytest.raises(ConfigError, match="announcements are marketing"):
        load_templates(path)
    path.write_text(
        "reminder:\n  name: pustaka_pengingat\n  languages: {id: id}\n"
        "  params: [event, {when: 60}]\n  body_chars: 200\n  buttons: 2\n",
        "utf-8",
    )
    templates = load_templates(path)
    assert templates["reminder"].category == "utility"
    assert templates["reminder"].limits == (1024 - 200 - 60, 60)
    wa.channel.sender.settings = whatsapp_settings(wa_api, templates=templates)
    wa_api.template_bodies["pustaka_pengingat"] = 200
    long_title = "Pelatihan " * 300  # 3,000 characters
    await wa.channel.sender.send(_reminder("+" + PHONE, params={"event": long_title, "when": "x"}))
    (sent,) = wa_api.to(PHONE)
    event, when = sent.template_params
    assert event.endswith("…") and len(event) <= 1024 - 200 - 60 and when == "x"
    assert wa_api.refused == []
    # Without the cap the fake refuses it, as Meta does (132005).
    uncapped = WhatsAppTemplate("reminder", "pustaka_pengingat", {"id": "id"}, ("event", "when"))
    wa.channel.sender.settings = whatsapp_settings(wa_api, templates={"reminder": uncapped})
    with pytest.raises(SendError, match="132005"):
        await wa.channel.sender.send(
            _reminder("+6281234570002", params={"event": long_title, "when": "x"})
        )


# --- files -------------------------------------------------------------------------------


async def _admin(wa: WhatsAppHarness, runtime: Runtime, phone: str = PHONE) -> None:
    await runtime.storage.staff.seed_admins([(CHANNEL, "+" + phone)], now=utcnow())
    await wa.onboard(phone)


async def test_exports_go_as_types_meta_takes_and_a_failed_file_does_not_stop_the_rest(
    wa: WhatsAppHarness, runtime: Runtime, wa_api: FakeGraphApi
) -> None:
    await _admin(wa, runtime)
    event = await event_id(runtime, COMPUTER)
    sent = await wa.tap(PHONE, f"sex:e:{event}")
    types = [u["type"] for u in wa_api.uploads]
    assert types == [
        "text/plain",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]
    assert wa_api.uploads[0]["filename"].endswith(".csv")
    # The spreadsheet rides as the document header of its Back/Menu buttons' message: one
    # message where a document and a separate "Silakan pilih" prompt took two.
    assert [s.type for s in sent] == ["document", "interactive"]
    header = sent[1].body["interactive"]["header"]
    assert header["type"] == "document" and header["document"]["filename"].endswith(".xlsx")
    assert wa_api.refused == []

    # The CSV's upload fails: the spreadsheet still goes, and the person is told which file
    # did not.
    csv_name = wa_api.uploads[0]["filename"]
    wa_api.fail_uploads[csv_name] = (400, graph_error(131053, "Media upload error"))
    sent = await wa.tap(PHONE, f"sex:e:{event}")
    assert [s.type for s in sent] == ["text", "interactive", "text"]
    assert sent[1].body["interactive"]["header"]["type"] == "document"
    assert csv_name in sent[-1].text and "tidak dapat dikirim" in sent[-1].text
    # Rendered the old way (the bench's baseline), the same answer takes three messages.
    wa_api.fail_uploads.clear()
    wa.channel.sender.combine = False
    sent = await wa.tap(PHONE, f"sex:e:{event}")
    assert [s.type for s in sent] == ["document", "document", "interactive"]


async def test_the_statistics_chart_goes_as_an_image(
    wa: WhatsAppHarness, runtime: Runtime, wa_api: FakeGraphApi
) -> None:
    await _admin(wa, runtime)
    sent = await wa.send(PHONE, "/statistik")
    # The figures with their month list, then the chart shown as an image (a list message
    # cannot carry a media header, so these stay two messages).
    assert [s.type for s in sent] == ["interactive", "image"]
    assert sent[1].body["image"]["id"].startswith("media-")
    assert wa_api.uploads[-1]["type"] == "image/png"
    assert wa_api.refused == []


async def test_the_fake_refuses_what_meta_refuses(
    wa: WhatsAppHarness, wa_api: FakeGraphApi
) -> None:
    async def post(body: dict[str, Any]) -> int:
        async with wa.http.post(
            f"{wa_api.url}/v26.0/106540352242922/messages",
            json={"messaging_product": "whatsapp", **body},
            headers={"Authorization": "Bearer EAAtest-token"},
        ) as response:
            return response.status

    buttons = {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Pilih"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "same", "title": "Satu"}},
                    {"type": "reply", "reply": {"id": "same", "title": "Dua"}},
                ]
            },
        },
    }
    assert await post({"to": PHONE, **buttons}) == 400
    assert await post({"type": "text", "text": {"body": "tanpa penerima"}}) == 400
    assert await post({"to": USER_ID, "type": "text", "text": {"body": "x"}}) == 400
    assert await post({"recipient": USER_ID, "type": "text", "text": {"body": "x"}}) == 200
    form_refused = [r for r in wa_api.refused if "duplicate button ids" in r]
    assert form_refused


# --- the error table ------------------------------------------------------------------------

EXPECTED = {
    Action.RATE_LIMIT: RateLimited,
    Action.DEFER: Deferred,
    Action.HOLD: OutsideWindow,
    Action.UNREACHABLE: Unreachable,
    Action.MARKETING_STOPPED: MarketingStopped,
    Action.TRANSIENT: TransientError,
    Action.ACCOUNT: AccountProblem,
}


async def _sent_row(runtime: Runtime, identity: str, external_id: str, kind: str) -> int:
    async with runtime.storage.db.transaction() as conn:
        await enqueue(
            conn,
            OutboxMessage(
                dedupe_key=f"{kind}:test:{external_id}",
                kind=kind,
                channel=CHANNEL,
                recipient=identity,
                text="Pesan",
            ),
            now=utcnow(),
        )
        await conn.execute(
            "UPDATE outbox SET status = 'sent', attempts = 1, external_id = ? WHERE dedupe_key = ?",
            (external_id, f"{kind}:test:{external_id}"),
        )
    row = await runtime.storage.db.fetchone(
        "SELECT id FROM outbox WHERE external_id = ?", (external_id,)
    )
    assert row is not None
    return int(row["id"])


def _failed(external_id: str, code: int) -> dict[str, Any]:
    return envelope(
        {
            "statuses": [
                {
                    "id": external_id,
                    "status": "failed",
                    "timestamp": "1764000000",
                    "recipient_id": PHONE,
                    "errors": [{"code": code, "title": "refused", "message": "refused"}],
                }
            ]
        }
    )


@pytest.mark.parametrize("code", sorted(CODES))
async def test_each_error_code_means_the_same_from_the_send_call_and_a_status_webhook(
    wa: WhatsAppHarness, runtime: Runtime, wa_api: FakeGraphApi, wa_clock: FakeClock, code: int
) -> None:
    rule = CODES[code]
    await runtime.storage.staff.seed_admins([("telegram", "9001")], now=utcnow())
    await wa.onboard(PHONE)
    identity = "+" + PHONE
    sender = wa.channel.sender
    repo = WhatsAppRepo(runtime.storage.db)

    # 1. The send call answers with the code.
    wa_api.fail_next.append((400, graph_error(code, "refused")))
    with pytest.raises(EXPECTED[rule.action]) as caught:
        await sender.send(_reminder(identity))
    assert str(code) in str(caught.value)
    if rule.action is Action.RATE_LIMIT:
        assert not isinstance(caught.value, AccountProblem)
        assert isinstance(caught.value, RateLimited) and caught.value.retry_after == rule.seconds
    if rule.action is Action.DEFER:
        assert isinstance(caught.value, Deferred) and not isinstance(caught.value, RateLimited)
        assert caught.value.retry_after == rule.seconds
    if rule.action is Action.ACCOUNT:
        # Paused: the next send does not even reach Meta, and the admins were told once.
        calls = len(wa_api.sent)
        with pytest.raises(AccountProblem):
            await sender.send(_reminder(identity))
        assert len(wa_api.sent) == calls
        alerts = await runtime.storage.db.fetchall(
            "SELECT recipient, body FROM outbox WHERE kind = 'ops_alert'"
        )
        assert [a["recipient"] for a in alerts] == ["9001"] and str(code) in alerts[0]["body"]
        await runtime.storage.db.write("DELETE FROM whatsapp_account_pause")
    if rule.action is Action.MARKETING_STOPPED:
        assert (await repo.address(identity=identity)).marketing_stopped
        await repo.set_marketing(identity=identity, stopped=False, at=wa_clock.now)

    # 2. The same code in a `failed` status webhook for a row the worker marked sent.
    kind = "announcement" if rule.action is Action.MARKETING_STOPPED else "reminder"
    row_id = await _sent_row(runtime, identity, f"wamid.LATE{code}", kind)
    assert (await wa.post(_failed(f"wamid.LATE{code}", code))).status == 200
    row = await runtime.storage.db.fetchone(
        "SELECT status, attempts, due_at, last_error FROM outbox WHERE id = ?", (row_id,)
    )
    assert row is not None and str(code) in row["last_error"] or row["last_error"] == "unreachable"
    resident = await _resident(runtime, identity)
    assert resident is not None
    if rule.action in (Action.RATE_LIMIT, Action.DEFER, Action.ACCOUNT):
        assert row["status"] == "pending" and row["attempts"] == 1
        wait = (from_db(row["due_at"]) - wa_clock.now).total_seconds()
        assert wait == pytest.approx(rule.seconds, abs=5)
    elif rule.action is Action.TRANSIENT:
        assert row["status"] == "pending" and row["attempts"] == 2
    elif rule.action is Action.HOLD:
        assert row["status"] == "held"
    elif rule.action is Action.UNREACHABLE:
        assert row["status"] == "cancelled" and resident["unreachable_at"] is not None
    elif rule.action is Action.MARKETING_STOPPED:
        assert row["status"] == "failed" and resident["unreachable_at"] is None
        assert (await repo.address(identity=identity)).marketing_stopped
    if rule.action is Action.ACCOUNT:
        assert await repo.account_pause(now=wa_clock.now) is not None
    if rule.action is not Action.UNREACHABLE:
        assert resident["unreachable_at"] is None  # reminders are never cancelled for it


async def test_an_unknown_code_fails_only_its_row(
    wa: WhatsAppHarness, runtime: Runtime, wa_api: FakeGraphApi
) -> None:
    await wa.onboard(PHONE)
    row_id = await _sent_row(runtime, "+" + PHONE, "wamid.LATE0", "reminder")
    await wa.post(_failed("wamid.LATE0", 131009))
    row = await runtime.storage.db.fetchone("SELECT status FROM outbox WHERE id = ?", (row_id,))
    assert row is not None and row["status"] == "failed"


# --- phone numbers typed by staff -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0812-3456-7890", "+6281234567890"),
        ("0812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("+62 0812-3456-7890", "+6281234567890"),
        ("62 0812 3456 7890", "+6281234567890"),
        ("812345678", "+62812345678"),
        ("+61 412 345 678", "+61412345678"),
        ("0061412345678", "+61412345678"),
    ],
)
def test_indonesian_numbers_in_every_shape_people_write_them(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("0380-821234", "not_mobile"),  # a Kupang landline
        ("412345678", "not_mobile"),  # no country code: not guessed
        ("08123", "length"),
        ("0812-ABC", "letters"),
        ("+0812345678", "length"),
    ],
)
def test_numbers_that_are_no_indonesian_mobile_are_refused_with_the_reason(
    raw: str, reason: str
) -> None:
    with pytest.raises(NotAPhoneNumber) as caught:
        normalise_phone(raw)
    assert caught.value.reason == reason


async def test_staff_grant_a_role_by_a_number_written_the_indonesian_way(
    wa: WhatsAppHarness, runtime: Runtime
) -> None:
    await _admin(wa, runtime)
    sent = await wa.send(PHONE, "/beriperan 0812-3457-0002")
    assert "0812" not in texts(sent) or "+6281234570002" in texts(sent)
    draft_target = await runtime.storage.sessions.load(channel=CHANNEL, external_id="+" + PHONE)
    assert "+6281234570002" in str(draft_target.state)
    await wa.send(PHONE, "/batal")
    sent = await wa.send(PHONE, "/beriperan 0380-821234")
    assert runtime.translator.text("id", "phone_numbers.not_mobile", number="0380-821234") in (
        texts(sent)
    )


def test_admins_in_the_settings_take_indonesian_numbers() -> None:
    from bot.config import _admins

    assert [a.user_id for a in _admins("whatsapp:0812-3456-7890")] == ["+6281234567890"]
    with pytest.raises(ConfigError):
        _admins("whatsapp:0380821234")


async def test_outside_the_window_a_user_id_only_person_gets_the_template_by_recipient(
    wa: WhatsAppHarness, wa_api: FakeGraphApi, wa_clock: FakeClock
) -> None:
    await wa.onboard(USER_ID)
    wa_clock.advance(timedelta(hours=25))
    await wa.channel.sender.send(_reminder(USER_ID))
    sent = wa_api.to(USER_ID)[-1]
    assert sent.template_name == "pustaka_pengingat" and sent.body["recipient"] == USER_ID


def _documented_bodies() -> dict[str, dict[str, str]]:
    """name -> {language: body} of the templates docs/whatsapp.md tells operators to submit."""
    docs = (Path(__file__).parent.parent / "docs" / "whatsapp.md").read_text("utf-8")
    bodies: dict[str, dict[str, str]] = {}
    for section in docs.split("\n### ")[1:]:
        name = section.split("`", 2)[1]
        for language in ("id", "en"):
            marker = f"- **{language}**: `"
            if marker in section:
                bodies.setdefault(name, {})[language] = section.split(marker, 1)[1].split("`")[0]
    return bodies


async def test_documented_templates_fit_meta_limits_with_a_long_announcement(
    tmp_path: Path, wa: WhatsAppHarness, wa_api: FakeGraphApi, wa_clock: FakeClock
) -> None:
    from tests.test_whatsapp_registration import documented_templates

    templates = documented_templates(tmp_path)
    bodies = _documented_bodies()
    assert {t.name for t in templates.values()} == set(bodies)
    assert templates["announcement"].marketing
    assert not any(t.marketing for k, t in templates.items() if k != "announcement")
    # event_cancelled says nothing promotional ("see other events"): it stays utility.
    assert "lainnya" not in bodies["pustaka_acara_batal"]["id"].lower()
    for template in templates.values():
        fixed = max(len(re.sub(r"\{\{\d\}\}", "", body)) for body in bodies[template.name].values())
        wa_api.template_bodies[template.name] = fixed
        # body_chars in the documented file covers the longer language's own text.
        assert fixed + sum(template.limits) <= 1024, template.name
    wa.channel.sender.settings = whatsapp_settings(wa_api, templates=templates)
    await wa.onboard(PHONE)
    wa_clock.advance(timedelta(hours=25))
    text = "Perpustakaan keliling datang ke desa Anda. " * 60  # 2,580 characters
    await wa.channel.sender.send(
        Outbound(
            "+" + PHONE,
            text,
            kind="announcement",
            params={"library": "Perpustakaan Daerah Kabupaten Ende", "text": text},
        )
    )
    sent = wa_api.to(PHONE)[-1]
    assert sent.template_name == "pustaka_pengumuman"
    assert sent.template_params[1].endswith("…") and wa_api.refused == []


async def test_an_account_error_reported_for_a_reply_still_pauses_and_alerts_once(
    wa: WhatsAppHarness, runtime: Runtime, wa_api: FakeGraphApi, wa_clock: FakeClock
) -> None:
    await runtime.storage.staff.seed_admins(
        [("telegram", "9001"), ("whatsapp", "+" + PHONE)], now=utcnow()
    )
    await wa.onboard(PHONE)
    reply_id = "wamid.TEST000004"  # an answer to the person, not an outbox row
    for _ in range(2):  # Meta may report it for several messages: one alert per pause
        assert (await wa.post(_failed(reply_id, 131042))).status == 200
    pause = await WhatsAppRepo(runtime.storage.db).account_pause(now=wa_clock.now)
    assert pause is not None and pause.code == 131042
    alerts = await runtime.storage.db.fetchall(
        "SELECT channel, recipient FROM outbox WHERE kind = 'ops_alert'"
    )
    # To the admin on Telegram only: the paused channel would not carry it.
    assert [(a["channel"], a["recipient"]) for a in alerts] == [("telegram", "9001")]
    with pytest.raises(AccountProblem):
        await wa.channel.sender.send(_reminder("+" + PHONE))


async def test_a_changed_user_id_keeps_the_person(
    wa: WhatsAppHarness, runtime: Runtime, wa_api: FakeGraphApi
) -> None:
    await wa.onboard(USER_ID)
    new_id = "ID.7700000000001"
    system = envelope(
        {
            "messages": [
                {
                    "from_user_id": new_id,
                    "id": "wamid.SYS-UID",
                    "timestamp": "1764000000",
                    "type": "system",
                    "system": {
                        "body": "User changed user id",
                        "type": "user_changed_user_id",
                        "user_id": new_id,
                        "previous_user_id": USER_ID,
                    },
                }
            ]
        }
    )
    assert (await wa.post(system)).status == 200
    sent = await wa.send(new_id, "/datasaya")
    assert sent and all(s.body.get("recipient") == new_id for s in sent)
    assert await _resident(runtime, new_id) is None  # the same resident, known as before
    assert await _resident(runtime, USER_ID) is not None
