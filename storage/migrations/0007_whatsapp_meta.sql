-- WhatsApp as Meta runs it in 2026: people known by a business-scoped user id as well as (or
-- instead of) a phone number, marketing opt-outs, account-wide pauses, uploaded photos.

-- `identity` is the external_id the core knows the person by (residents, sessions, outbox
-- recipients, the window in whatsapp_contacts): their phone number (+62…) when the first message
-- carried one, else their business-scoped user id (BSUID, e.g. ID.1234…). It never changes, so
-- nothing else has to be rewritten when the person changes number or adopts a username; the
-- sender looks up where to send (`to` the phone, else `recipient` the user id) here.
CREATE TABLE whatsapp_identities (
    identity TEXT PRIMARY KEY,
    phone TEXT UNIQUE,
    user_id TEXT UNIQUE,
    -- The person stopped marketing messages in WhatsApp (user_preferences webhook or error
    -- 131050): announcements are not sent to them; reminders and replies still are.
    marketing_stopped_at TEXT,
    updated_at TEXT NOT NULL
);

-- One row: the channel is paused account-wide (account blocked or locked, token refused,
-- payment problem) until `paused_until`; kept in the database so a restart or a second process
-- does not hammer a blocked account, and operators are alerted once per pause.
CREATE TABLE whatsapp_account_pause (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    paused_until TEXT NOT NULL,
    code INTEGER,
    reason TEXT NOT NULL,
    since TEXT NOT NULL
);

-- A photo (an announcement's) uploaded once to the Cloud API and sent to everyone by the media
-- id Meta gave; Meta keeps uploaded media for 30 days.
CREATE TABLE whatsapp_uploads (
    source TEXT PRIMARY KEY,
    media_id TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
) WITHOUT ROWID;
