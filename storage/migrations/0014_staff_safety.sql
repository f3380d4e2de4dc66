-- Written to run safely on a database where an earlier copy of it ran as number 12.
-- Staff safety: a cancelled event can be restored until it starts, so each cancellation keeps
-- the status it came from; the count of them keeps every cancellation's messages distinct.
CREATE TABLE IF NOT EXISTS event_cancellations (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    previous_status TEXT NOT NULL CHECK (previous_status IN ('draft', 'open', 'closed')),
    note TEXT,
    cancelled_by TEXT NOT NULL,
    cancelled_at TEXT NOT NULL,
    restored_by TEXT,
    restored_at TEXT
);
CREATE INDEX IF NOT EXISTS event_cancellations_event ON event_cancellations (event_id, id);

-- A person may hold several roles (a librarian who also coordinates a regency): one row per
-- identity and role instead of one per identity.
CREATE TABLE staff_roles_new (
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'librarian')),
    regency_code TEXT REFERENCES regencies (code),
    library_id INTEGER REFERENCES libraries (id) ON DELETE CASCADE,
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (channel, external_id, role),
    CHECK (
        (role = 'admin' AND regency_code IS NULL AND library_id IS NULL)
        OR (role = 'coordinator' AND library_id IS NULL)
        OR (role = 'librarian' AND library_id IS NOT NULL AND regency_code IS NULL)
    )
) WITHOUT ROWID;
INSERT INTO staff_roles_new SELECT channel, external_id, role, regency_code, library_id,
    granted_by, granted_at FROM staff_roles;
DROP TABLE staff_roles;
ALTER TABLE staff_roles_new RENAME TO staff_roles;
