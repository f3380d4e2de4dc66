-- Staff tools: roles, audit log, topic subscriptions, announcements (broadcasts).

-- One role per chat identity. Keyed by channel identity rather than residents.id because an admin
-- named in PUSTAKA_ADMINS may never have chosen a language (no residents row yet).
CREATE TABLE staff_roles (
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'librarian')),
    -- coordinator: one regency, or NULL for the whole province
    regency_code TEXT REFERENCES regencies (code),
    -- librarian: the one library they manage
    library_id INTEGER REFERENCES libraries (id) ON DELETE CASCADE,
    granted_by TEXT NOT NULL, -- 'config' for PUSTAKA_ADMINS, else 'channel:user_id'
    granted_at TEXT NOT NULL,
    PRIMARY KEY (channel, external_id),
    CHECK (
        (role = 'admin' AND regency_code IS NULL AND library_id IS NULL)
        OR (role = 'coordinator' AND library_id IS NULL)
        OR (role = 'librarian' AND library_id IS NOT NULL AND regency_code IS NULL)
    )
) WITHOUT ROWID;

-- Who did what, when, on what. Written in the same transaction as the change it records.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL, -- 'channel:user_id'
    role TEXT,
    action TEXT NOT NULL,
    target TEXT, -- 'broadcast:12', 'event:5', 'telegram:123', ...
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Topics are the event categories; a resident subscribes with /langganan.
CREATE TABLE topic_subscriptions (
    topic TEXT NOT NULL,
    resident_id INTEGER NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (topic, resident_id)
) WITHOUT ROWID;
CREATE INDEX topic_subscriptions_resident ON topic_subscriptions (resident_id);

CREATE TABLE broadcasts (
    id INTEGER PRIMARY KEY,
    author TEXT NOT NULL, -- 'channel:user_id'
    author_channel TEXT NOT NULL,
    author_recipient TEXT NOT NULL, -- where progress and the final report go
    author_language TEXT NOT NULL DEFAULT 'id',
    text TEXT NOT NULL,
    photo TEXT, -- the channel's file id of one photo
    audience TEXT NOT NULL
        CHECK (audience IN ('all', 'regency', 'topic', 'registrants', 'waitlist')),
    -- audience 'all' within a scope: regency code or NULL (province); 'regency': its code;
    -- 'topic': 'topic' or 'topic@regency'; 'registrants' / 'waitlist': the event id
    audience_arg TEXT,
    due_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'scheduled', 'running', 'done', 'cancelled')),
    recipients INTEGER NOT NULL DEFAULT 0,
    sent INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    cancelled INTEGER NOT NULL DEFAULT 0,
    progress_message TEXT, -- the channel's id of the progress message edited in place
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX broadcasts_author ON broadcasts (author, id);
CREATE INDEX broadcasts_status ON broadcasts (status, due_at);

-- Audience queries filter residents by these; without them every announcement scans the table.
CREATE INDEX IF NOT EXISTS residents_regency ON residents (regency_code);

-- /statistik counts the announcements delivered in a month. Partial: only delivered
-- announcements enter it, so the busy paths (queueing, claiming) do not maintain it.
CREATE INDEX outbox_announcements_sent ON outbox (sent_at)
    WHERE kind = 'announcement' AND status = 'sent';

-- A resident who stops announcements or withdraws consent must not get the ones already queued
-- for later. Triggers keep this true whichever code path changes the row (residents.py is shared).
CREATE TRIGGER residents_announcements_off AFTER UPDATE OF announcements_off ON residents
WHEN NEW.announcements_off = 1
BEGIN
    UPDATE outbox SET status = 'cancelled', last_error = 'announcements off',
        updated_at = NEW.updated_at
    WHERE resident_id = NEW.id AND kind = 'announcement' AND status = 'pending';
END;

CREATE TRIGGER residents_consent_withdrawn AFTER UPDATE OF consent_at ON residents
WHEN NEW.consent_at IS NULL AND OLD.consent_at IS NOT NULL
BEGIN
    DELETE FROM topic_subscriptions WHERE resident_id = NEW.id;
    UPDATE outbox SET status = 'cancelled', last_error = 'consent withdrawn',
        updated_at = NEW.updated_at
    WHERE resident_id = NEW.id AND kind = 'announcement' AND status = 'pending';
END;
