"""/hapusdata leaves no trace (issue 15): every table and column of the schema is classified
here, so a new one cannot hold personal data unnoticed, and after a deletion no cell outside the
bare chat identity holds the person's chat id, @username, names, village or resident id."""

from __future__ import annotations

from datetime import timedelta

from bot.delivery.replies import ReplyRescue
from bot.runtime import Runtime
from handlers.types import Reply
from storage.clock import utcnow
from storage.outbox import OutboxMessage
from tests.registration_scenarios import COMPUTER, event_id, resident_id
from tests.staff_support import ADMIN
from tests.staff_support import settings as settings  # noqa: F401 - fixture with an admin
from tests.telegram_harness import TelegramHarness, texts
from tests.whatsapp_harness import WhatsAppHarness

# Every column of every table, by what it may hold:
# "identity": the chat id itself, kept so the bot can answer this chat (storage/privacy.py)
# "personal": may hold a resident's personal data or point at them: checked after a deletion
# "staff": staff work records (a staff member's own role, announcements, audit), kept for staff
# "none": content, times, counters, statuses, codes
SCHEMA: dict[str, dict[str, str]] = {
    "audit_log": dict.fromkeys(("id", "at", "role", "action"), "none")
    | {"actor": "staff", "target": "personal", "detail": "personal"},
    "broadcasts": dict.fromkeys(
        (
            "id",
            "author_language",
            "photo",
            "audience",
            "audience_arg",
            "due_at",
            "status",
            "recipients",
            "sent",
            "failed",
            "cancelled",
            "progress_message",
            "created_at",
            "updated_at",
            "finished_at",
            "text",
            "sms",
        ),
        "none",
    )  # fmt: skip
    | dict.fromkeys(("author", "author_channel", "author_recipient"), "staff"),
    "events": dict.fromkeys(
        (
            "id",
            "slug",
            "library_id",
            "title",
            "category",
            "description",
            "place",
            "starts_at",
            "ends_at",
            "capacity",
            "seats_taken",
            "status",
            "questions",
            "registration_opens_at",
            "registration_closes_at",
            "waitlist_limit",
            "is_sample",
            "checkin_code",
            "reminder_offsets",
        ),
        "none",
    )  # fmt: skip
    | {},
    "libraries": dict.fromkeys(
        (
            "id",
            "slug",
            "name",
            "level",
            "regency_code",
            "village",
            "address",
            "opening_hours",
            "contact",
            "services",
            "is_sample",
        ),
        "none",
    )  # fmt: skip
    | {},
    "outbox": dict.fromkeys(
        ("id", "kind", "channel", "language", "priority", "due_at", "status", "attempts"), "none"
    )
    | dict.fromkeys(("created_at", "updated_at", "sent_at", "claimed_until"), "none")
    | dict.fromkeys(
        (
            "dedupe_key",
            "recipient",
            "resident_id",
            "event_id",
            "body",
            "params",
            "last_error",
            "external_id",
        ),
        "personal",
    ),  # fmt: skip
    "regencies": dict.fromkeys(("code", "name", "kind", "position"), "none"),
    "registrations": dict.fromkeys(
        (
            "id",
            "event_id",
            "is_proxy",
            "status",
            "waitlist_seq",
            "attended_at",
            "created_at",
            "cancelled_at",
            "cancel_reason",
            "gender",
            "age_band",
        ),
        "none",
    )  # fmt: skip
    | dict.fromkeys(("resident_id", "name", "village", "sms_phone"), "personal")
    | {"sms_consent_at": "none"},
    "resident_answers": dict.fromkeys(
        ("resident_id", "gender", "age_band", "village", "updated_at"), "personal"
    ),
    "residents": dict.fromkeys(("channel", "external_id"), "identity")
    | dict.fromkeys(
        (
            "id",
            "language",
            "announcements_off",
            "created_at",
            "updated_at",
            "unreachable_at",
            "reminders_off",
        ),
        "none",
    )  # fmt: skip
    | dict.fromkeys(
        ("consent_at", "name", "regency_code", "sms_phone", "sms_verified_at"), "personal"
    ),
    "sessions": dict.fromkeys(("channel", "external_id"), "identity")
    | {"state": "personal", "updated_at": "none"},
    "staff_roles": dict.fromkeys(
        ("channel", "external_id", "role", "regency_code", "library_id", "granted_by"), "staff"
    )
    | {"granted_at": "none"},
    "topic_subscriptions": {"topic": "none", "resident_id": "personal", "created_at": "none"},
    "whatsapp_contacts": {"phone": "identity", "last_inbound_at": "none"},
    "whatsapp_outside_reach": {"phone": "personal", "reached_at": "none"},
    "whatsapp_receipts": dict.fromkeys(("external_id", "outbox_id", "error"), "personal")
    | {"status": "none", "updated_at": "none"},
    "whatsapp_seen_messages": {"message_id": "none", "seen_at": "none"},
    # The identity a WhatsApp person is known by (phone and/or Meta's user id): the chat id.
    "whatsapp_identities": dict.fromkeys(("identity", "phone", "user_id"), "identity")
    | {"marketing_stopped_at": "none", "updated_at": "none"},
    "whatsapp_account_pause": dict.fromkeys(
        ("id", "paused_until", "code", "reason", "since"), "none"
    ),
    "whatsapp_uploads": dict.fromkeys(("source", "media_id", "uploaded_at"), "none"),
    # Staff sign-in to the dashboard; failures keep the address that tried, tied to nobody.
    "dashboard_links": dict.fromkeys(("token_hash", "channel", "external_id"), "staff")
    | dict.fromkeys(("language", "created_at", "expires_at", "used_at"), "none"),
    "dashboard_sessions": dict.fromkeys(("token_hash", "channel", "external_id"), "staff")
    | dict.fromkeys(("language", "created_at", "last_seen_at", "expires_at"), "none"),
    "dashboard_failures": dict.fromkeys(("id", "address", "at"), "none"),
    "event_cancellations": dict.fromkeys(
        ("id", "event_id", "previous_status", "note", "cancelled_at", "restored_at"), "none"
    )
    | dict.fromkeys(("cancelled_by", "restored_by"), "staff"),
    # SMS: a pending verification code, webhook events seen, the ledger of what was sent.
    "sms_codes": dict.fromkeys(("resident_id", "phone", "code"), "personal")
    | dict.fromkeys(("tries", "expires_at"), "none"),
    "sms_seen": dict.fromkeys(("event_id", "seen_at"), "none"),
    "sms_sent": {"recipient": "personal"}
    | dict.fromkeys(("id", "day", "kind", "segments", "message_id", "status", "error"), "none")
    | dict.fromkeys(("created_at", "updated_at"), "none"),
    # Several instances (PostgreSQL): updates as received, until handled and pruned; whose turn
    # it is to handle a person's updates (a lease on the chat id).
    "inbox": dict.fromkeys(("id", "channel", "platform_id", "status"), "none")
    | dict.fromkeys(("received_at", "handled_at"), "none")
    | dict.fromkeys(("person", "payload"), "personal"),
    "person_turns": dict.fromkeys(("channel", "person"), "identity")
    | dict.fromkeys(("owner", "until"), "none"),
    # Village and place names people type, mapped to regencies (content, not people).
    "place_aliases": dict.fromkeys(("alias", "regency_codes", "is_sample"), "none"),
    # Library catalogues harvested over OAI-PMH: books, not people.
    **{
        table: {"*": "none"}
        for table in (
            "catalogue_sources",
            "catalogue_records",
            "catalogue_staging",
            "catalogue_fts",
            "catalogue_fts_data",
            "catalogue_fts_idx",
            "catalogue_fts_docsize",
            "catalogue_fts_config",
            "catalogue_vocab",
            "catalogue_terms",
            "channel_gates",
            "channel_slots",  # a channel's rate shared by instances: times, no people
        )
    },
}


async def _schema(runtime: Runtime) -> dict[str, list[str]]:
    db = runtime.storage.db
    tables = await db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return {t: [c[1] for c in await db.fetchall(f"PRAGMA table_info({t})")] for (t,) in tables}


async def test_every_column_of_the_schema_is_classified(runtime: Runtime) -> None:
    schema = await _schema(runtime)
    unclassified = [
        f"{table}.{column}"
        for table, columns in schema.items()
        for column in columns
        if column not in SCHEMA.get(table, {}) and "*" not in SCHEMA.get(table, {})
    ]
    assert not unclassified, (
        "classify these in SCHEMA and make /hapusdata (storage/privacy.py) handle the personal "
        f"ones: {unclassified}"
    )


async def traces(runtime: Runtime, markers: list[str], rid: int, staff: bool) -> list[str]:
    """Cells that still hold one of `markers` (case-insensitive) or the resident id, outside the
    identity columns (and outside the staff records when the person is staff)."""
    found = []
    schema = await _schema(runtime)
    for table, columns in schema.items():
        rows = await runtime.storage.db.fetchall(f"SELECT * FROM {table}")
        for row in rows:
            for column in columns:
                kind = SCHEMA[table].get(column) or SCHEMA[table]["*"]
                if kind == "identity" or (kind == "staff" and staff):
                    continue
                value = row[column]
                if column == "resident_id" and value == rid:
                    found.append(f"{table}.{column}={value}")
                if isinstance(value, str) and any(
                    m.casefold() in value.casefold() for m in markers
                ):
                    found.append(f"{table}.{column}={value[:80]!r}")
    resident = await runtime.storage.residents.get(resident_id=rid)
    if resident.name or resident.regency_code or resident.consent_at:
        found.append(f"residents profile {resident}")
    return found


USER = 987654321
NAME = "Maria Goreti Dasilva"
PROXY = "Nenek Yuliana Dasilva"
VILLAGE = "Wolotopo Dasilvaan"
USERNAME = "maria_dasilva_x"
SMS_PHONE = "+6281377665544"


async def test_deletion_on_telegram_leaves_no_trace(tg: TelegramHarness, runtime: Runtime) -> None:
    tg.usernames[USER] = USERNAME
    await tg.onboard(USER)
    rid = await resident_id(runtime, USER)
    event = await event_id(runtime, COMPUTER)
    await tg.tap(USER, f"reg:{event}")
    await tg.send(USER, NAME)
    await tg.tap(USER, "rq:female")
    await tg.tap(USER, "rq:18_35")
    await tg.send(USER, VILLAGE)
    await tg.tap(USER, f"reg!:{event}")
    await tg.tap(USER, f"regp:{event}")
    await tg.send(USER, PROXY)
    for _ in range(3):
        await tg.tap(USER, "rq:-")
    await tg.tap(USER, f"reg!:{event}")
    await runtime.storage.staff.toggle_topic(resident_id=rid, topic="weaving", now=utcnow())
    # Reminders and an announcement queued and sent to them, a reply kept for later.
    await runtime.storage.reminders.sync(default_offsets=(24 * 60, 2 * 60), now=utcnow())
    await runtime.storage.outbox.add(
        OutboxMessage(
            dedupe_key=f"broadcast:77:{rid}",
            kind="announcement",
            channel="telegram",
            recipient=str(USER),
            text=f"Halo {NAME}",
            resident_id=rid,
        ),
        now=utcnow(),
    )
    claimed = await runtime.storage.outbox.claim(channels=["telegram"], limit=100, now=utcnow())
    (announcement,) = [r for r in claimed if r.kind == "announcement"]
    await runtime.storage.outbox.mark_sent(row_id=announcement.id, external_id="555", now=utcnow())
    await ReplyRescue(runtime.storage).keep(
        channel="telegram", recipient=str(USER), reply=Reply(f"Terima kasih {NAME}"), language="id"
    )
    # An admin made them a librarian by their @username, then took it back: audit entries.
    await tg.send(ADMIN, f"/beriperan @{USERNAME}")
    await tg.tap(ADMIN, "srg:r:coordinator")
    await tg.tap(ADMIN, "srg:s:*")
    await tg.send(ADMIN, f"/cabutperan {USER}")
    await tg.tap(ADMIN, "srv:y:coordinator")  # confirmed
    await tg.send(ADMIN, "/menu")
    # A verified SMS number, a pending code and an SMS sent to it (test setup, as storage/sms.py
    # leaves them).
    async with runtime.storage.db.transaction() as conn:
        await conn.execute(
            "UPDATE residents SET sms_phone = ?, sms_verified_at = '2026-11-30T00:00:00Z' "
            "WHERE id = ?",
            (SMS_PHONE, rid),
        )
        await conn.execute(
            "INSERT INTO sms_codes (resident_id, phone, code, expires_at) VALUES (?, ?, '1234', "
            "'2026-12-30T00:00:00Z')",
            (rid, SMS_PHONE),
        )
        await conn.execute(
            "INSERT INTO sms_sent (day, kind, recipient, segments, status, created_at, updated_at)"
            " VALUES ('2026-11-30', 'reminder', ?, 1, 'sent', 'x', 'x')",
            (SMS_PHONE,),
        )
    markers = [str(USER), USERNAME, NAME, PROXY, VILLAGE, SMS_PHONE]
    assert await traces(runtime, markers, rid, staff=False)  # the scenario left traces to find

    await tg.send(USER, "/hapusdata")
    replies = await tg.tap(USER, "del:yes")
    assert runtime.translator.text("id", "privacy.deleted").split("\n")[0][:30] in texts(replies)
    await tg.send(USER, "/menu")  # still served, and writing again stores nothing new
    assert await traces(runtime, markers, rid, staff=False) == []
    # Aggregate figures survive: the announcement still counts as delivered.
    rows = await runtime.storage.db.fetchall(
        "SELECT count(*) FROM outbox WHERE kind = 'announcement' AND status = 'sent'"
    )
    assert rows[0][0] == 1


async def test_deletion_on_whatsapp_leaves_no_trace(wa: WhatsAppHarness, runtime: Runtime) -> None:
    phone = "6281299887766"
    await wa.onboard(phone)  # the regency list (22 rows) is paged from the session
    stored = f"+{phone}"
    rid = await resident_id(runtime, stored, "whatsapp")
    event = await event_id(runtime, COMPUTER)
    await wa.tap(phone, f"reg:{event}")
    await wa.send(phone, NAME)
    await runtime.storage.staff.toggle_topic(resident_id=rid, topic="weaving", now=utcnow())
    await wa.channel.repo.reserve_outside_reach(phone=stored, now=wa.clock(), limit=250)
    markers = [phone, NAME]
    assert await traces(runtime, markers, rid, staff=False)

    await wa.send(phone, "/hapusdata")
    await wa.tap(phone, "del:yes")
    wa.clock.advance(timedelta(seconds=1))
    assert await traces(runtime, markers, rid, staff=False) == []
    assert await wa.channel.repo.outside_reach_count(now=wa.clock()) == 1  # still counted
