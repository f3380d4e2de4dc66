-- Everything the bot sends on its own initiative is first written here, then delivered by the
-- outbox worker. The dedupe key makes producing the same message twice harmless.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL, -- reminder | promotion | event_change | announcement | ...
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL, -- the channel's chat id / phone number
    resident_id INTEGER REFERENCES residents (id) ON DELETE CASCADE,
    event_id INTEGER REFERENCES events (id) ON DELETE CASCADE,
    language TEXT NOT NULL DEFAULT 'id',
    body TEXT NOT NULL, -- JSON: {"text": ..., "choices": [[label, payload], ...], "document": ...}
    params TEXT NOT NULL DEFAULT '{}', -- JSON: values a WhatsApp template of this kind needs
    priority INTEGER NOT NULL DEFAULT 0, -- higher goes first among due rows
    due_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'held')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    external_id TEXT, -- the channel's id of the sent message (delivery receipts)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox (status, due_at);
CREATE INDEX outbox_resident ON outbox (resident_id, status);
CREATE INDEX outbox_event ON outbox (event_id, status);
