-- The staff dashboard (issue 13). Numbered after the issue so it does not take a number another
-- branch is using. Only hashes of links and session tokens are stored: a copy of the database
-- does not let anyone sign in.

-- One-time sign-in links sent in the chat: valid 10 minutes, used once.
CREATE TABLE dashboard_links (
    token_hash TEXT PRIMARY KEY, -- sha256 of the token, hex
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'id',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX dashboard_links_expires ON dashboard_links (expires_at);

-- Signed-in browsers. The person's roles are read again on every request, so a revoked role
-- ends the session at the next page; idle and absolute expiry bound a forgotten browser.
CREATE TABLE dashboard_sessions (
    token_hash TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'id',
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX dashboard_sessions_person ON dashboard_sessions (channel, external_id);

-- Failed sign-in attempts by address, to slow down guessing.
CREATE TABLE dashboard_failures (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX dashboard_failures_address ON dashboard_failures (address, at);

-- "New residents" of a month (the overview, /statistik) count the month's profiles from this
-- index alone (partial: profiles only; with the regency for a coordinator's count), instead of
-- reading every resident's row.
CREATE INDEX IF NOT EXISTS residents_created ON residents (created_at, regency_code)
    WHERE consent_at IS NOT NULL;
