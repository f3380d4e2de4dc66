"""Check-in codes: six random characters people read off a board at the venue and type.

A code proves the person is at the venue, so nobody may be able to work it out from what they can
see elsewhere: it is drawn from `secrets`, never derived from the event's id (ids are in button
payloads, and a formula would be in this repository). The alphabet leaves out the characters
people mix up when reading a board or a phone: 0/O, 1/I/L, S/5, Z/2 and B/8.

Codes are given here, not by a database trigger or default, because a random choice inside the
database cannot look for a free code: a clash failed the whole insert (about one import in four
of 20,000 events). Here a code already taken is simply drawn again, so assigning never fails.
"""

from __future__ import annotations

import json
import secrets

from storage.db import Tx

ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
LENGTH = 6  # 25^6 = 244 million codes: a guess is right once in millions even with 20,000 events


def random_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


async def assign_checkin_codes(conn: Tx) -> int:
    """Give a new random code to every event of the database that has none (those this
    transaction inserted); codes already given are never changed, as they may be on printed
    boards. Call it in the transaction that inserted the events, before it commits. Returns how
    many events got a code."""
    # Two transactions choosing at once on PostgreSQL could both find the same code free and the
    # second would fail on the unique index at commit time; taking turns here prevents that (the
    # lock ends with the transaction). SQLite's write transactions already take turns.
    await conn.lock("checkin_codes", 0)
    rows = await conn.fetchall("SELECT id FROM events WHERE checkin_code IS NULL ORDER BY id")
    pending = [int(row[0]) for row in rows]
    chosen: dict[int, str] = {}
    drawn: set[str] = set()
    while pending:
        candidates: dict[int, str] = {}
        for event_id in pending:
            code = random_code()
            while code in drawn:  # two events of this batch never get the same code
                code = random_code()
            drawn.add(code)
            candidates[event_id] = code
        # Check, then set: a code another event has is drawn again (rare: with 20,000 events,
        # about one draw in 12,000).
        taken = {
            row[0]
            for row in await conn.fetchall(
                "SELECT checkin_code FROM events "
                "WHERE checkin_code IN (SELECT value FROM json_each(?))",
                (json.dumps(list(candidates.values())),),
            )
        }
        pending = [event_id for event_id, code in candidates.items() if code in taken]
        chosen.update((i, code) for i, code in candidates.items() if code not in taken)
    if chosen:
        await conn.executemany(
            "UPDATE events SET checkin_code = ? WHERE id = ?",
            [(code, event_id) for event_id, code in chosen.items()],
        )
    return len(chosen)
