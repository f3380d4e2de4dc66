-- Several instances serving one bot (issue 16; docs/deploy.md). Numbered after the issue so it
-- does not collide with other branches' migrations.

-- Webhook updates, stored before the webhook is acknowledged (PostgreSQL deployments). The
-- platform's id makes a re-delivery a no-op; `id` is the arrival order each person's updates are
-- handled in, whichever instance received them.
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    platform_id TEXT NOT NULL, -- Telegram update_id, WhatsApp message id
    person TEXT NOT NULL, -- the chat the update belongs to: handled one at a time
    payload TEXT NOT NULL, -- the update as received (JSON)
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    received_at TEXT NOT NULL,
    handled_at TEXT,
    UNIQUE (channel, platform_id)
);
CREATE INDEX inbox_person ON inbox (channel, person, status, id);
CREATE INDEX inbox_pending ON inbox (status, received_at);

-- Whose turn it is to handle a person's updates: one instance at a time, for a lease that a
-- dead instance's successor takes over once it has run out.
CREATE TABLE person_turns (
    channel TEXT NOT NULL,
    person TEXT NOT NULL,
    owner TEXT NOT NULL,
    until TEXT NOT NULL,
    PRIMARY KEY (channel, person)
) WITHOUT ROWID;

-- The outbox claim's lease: rows a dead instance claimed go back once it has run out.
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;

-- A channel's sending rate shared by every instance: the next free send slot (seconds since the
-- epoch) and a pause the platform asked for (429), whoever got it.
CREATE TABLE channel_gates (
    channel TEXT PRIMARY KEY,
    next_at REAL NOT NULL,
    paused_until REAL NOT NULL DEFAULT 0
) WITHOUT ROWID;
