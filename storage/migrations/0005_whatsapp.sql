-- WhatsApp channel state. Numbered 0005 because 0003 and 0004 belong to other branches.

-- When each number last wrote to us: free-form and interactive messages are allowed only within
-- 24 hours of it; outside, only approved templates. Kept apart from residents because the window
-- matters before (and without) consent, like the session row.
CREATE TABLE whatsapp_contacts (
    phone TEXT PRIMARY KEY, -- normalised +62...
    last_inbound_at TEXT NOT NULL
) WITHOUT ROWID;

-- Message ids already handled: Meta re-delivers a webhook it thinks failed, and a restart must
-- still recognise them. Old ids are pruned (Meta stops retrying after a few days).
CREATE TABLE whatsapp_seen_messages (
    message_id TEXT PRIMARY KEY,
    seen_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX whatsapp_seen_at ON whatsapp_seen_messages (seen_at);

-- People reached outside their window, for the business's limit of unique people per rolling
-- 24 hours (250 for a new business). One row per number: reaching the same person twice in the
-- period counts once, as Meta counts it.
CREATE TABLE whatsapp_outside_reach (
    phone TEXT PRIMARY KEY,
    reached_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX whatsapp_outside_reach_at ON whatsapp_outside_reach (reached_at);

-- Choices of the last long list (more than ten) sent to a number, so tapping "Lainnya" shows
-- the next rows after a restart too. `list_key` ties a "Lainnya" row to the list it came from.
CREATE TABLE whatsapp_list_pages (
    phone TEXT PRIMARY KEY,
    list_key TEXT NOT NULL,
    language TEXT NOT NULL,
    choices TEXT NOT NULL, -- JSON [[label, payload], ...]
    updated_at TEXT NOT NULL
) WITHOUT ROWID;

-- Delivery receipts (sent, delivered, read, failed) by the message id WhatsApp returned. A
-- separate table rather than outbox columns so the delivery branch owns that table. `outbox_id`
-- is filled when the outbox row is known; a receipt can arrive before the worker has stored the
-- id on its row, so unmatched receipts are kept for a while and found later through
-- outbox.external_id.
CREATE TABLE whatsapp_receipts (
    external_id TEXT PRIMARY KEY,
    outbox_id INTEGER REFERENCES outbox (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
    error TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX whatsapp_receipts_outbox ON whatsapp_receipts (outbox_id);
CREATE INDEX whatsapp_receipts_unmatched ON whatsapp_receipts (updated_at) WHERE outbox_id IS NULL;
