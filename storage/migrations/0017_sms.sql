-- SMS (issue 14).

-- A resident's own number for SMS reminders, set only once they typed back the code we sent to
-- it (proves the number is theirs). Personal data: cleared with the rest on deletion.
ALTER TABLE residents ADD COLUMN sms_phone TEXT;
ALTER TABLE residents ADD COLUMN sms_verified_at TEXT;

-- The number of a neighbour a kader registered (is_proxy = 1), and when the kader recorded the
-- neighbour's spoken consent to SMS. Without the consent time no SMS goes to that number.
ALTER TABLE registrations ADD COLUMN sms_phone TEXT;
ALTER TABLE registrations ADD COLUMN sms_consent_at TEXT;
CREATE INDEX registrations_sms_phone ON registrations (sms_phone) WHERE sms_phone IS NOT NULL;

-- The code sent to a number a resident wants to add; one pending code per resident.
CREATE TABLE sms_codes (
    resident_id INTEGER PRIMARY KEY REFERENCES residents (id) ON DELETE CASCADE,
    phone TEXT NOT NULL,
    code TEXT NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;

-- Webhook events already handled, by the gateway's event id: the phone retries a webhook it
-- thinks failed, and a duplicate must not register anyone twice.
CREATE TABLE sms_seen (
    event_id TEXT PRIMARY KEY,
    seen_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sms_seen_at ON sms_seen (seen_at);

-- Every SMS handed to the gateway, with its segments: the daily budget is counted from here
-- (`day` is the WITA date), and `pustaka outbox` reports from here. The gateway's delivery
-- reports update `status` by its message id.
CREATE TABLE sms_sent (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    segments INTEGER NOT NULL CHECK (segments > 0),
    message_id TEXT UNIQUE,
    status TEXT NOT NULL DEFAULT 'reserved'
        CHECK (status IN ('reserved', 'queued', 'sent', 'delivered', 'failed')),
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX sms_sent_day ON sms_sent (day, kind);

-- The SMS copies of outbox rows are made from rows changed since the last look, by kind.
CREATE INDEX outbox_kind_updated ON outbox (kind, updated_at);
