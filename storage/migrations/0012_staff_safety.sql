-- Staff safety: a cancelled event can be restored until it starts, so each cancellation keeps
-- the status it came from; the count of them keeps every cancellation's messages distinct.
CREATE TABLE event_cancellations (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    previous_status TEXT NOT NULL CHECK (previous_status IN ('draft', 'open', 'closed')),
    note TEXT,
    cancelled_by TEXT NOT NULL,
    cancelled_at TEXT NOT NULL,
    restored_by TEXT,
    restored_at TEXT
);
CREATE INDEX event_cancellations_event ON event_cancellations (event_id, id);
