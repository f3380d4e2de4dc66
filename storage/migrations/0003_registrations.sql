-- Registrations, waitlist, attendance, remembered answers and check-in codes.

-- One row per seat asked for: a resident for themself (is_proxy = 0) or on behalf of someone
-- without a phone (is_proxy = 1, `name` is that person's). Rows are never deleted, only
-- cancelled, so the monthly participation figures and the waitlist history stay whole.
CREATE TABLE registrations (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    -- Who made the registration; NULL once that resident deleted their personal data.
    resident_id INTEGER REFERENCES residents (id) ON DELETE SET NULL,
    is_proxy INTEGER NOT NULL DEFAULT 0 CHECK (is_proxy IN (0, 1)),
    name TEXT, -- NULL once anonymised
    gender TEXT CHECK (gender IS NULL OR gender IN ('female', 'male', 'unsaid')),
    age_band TEXT CHECK (age_band IS NULL OR age_band IN ('u18', '18_35', '36_55', '55p')),
    village TEXT,
    -- walk_in: checked in at the venue without a seat (no registration, or from the waitlist).
    status TEXT NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled', 'walk_in')),
    -- Arrival order on the waitlist; only set while waitlisted (or was, for history).
    waitlist_seq INTEGER,
    attended_at TEXT,
    created_at TEXT NOT NULL,
    cancelled_at TEXT,
    -- self | event | data_deleted: why it was cancelled, for the librarian's numbers.
    cancel_reason TEXT,
    CHECK ((status = 'waitlisted') = (waitlist_seq IS NOT NULL) OR status = 'cancelled'),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
-- One live self-registration per resident per event: a duplicate tap on "Daftar" (or a second
-- process serving the same person) hits this index instead of taking a second seat.
CREATE UNIQUE INDEX registrations_one_self ON registrations (event_id, resident_id)
    WHERE is_proxy = 0 AND status <> 'cancelled';
CREATE INDEX registrations_waitlist ON registrations (event_id, status, waitlist_seq);
CREATE INDEX registrations_resident ON registrations (resident_id, status);

-- Answers remembered for the next registration (empty text: skipped last time).
CREATE TABLE resident_answers (
    resident_id INTEGER PRIMARY KEY REFERENCES residents (id) ON DELETE CASCADE,
    gender TEXT,
    age_band TEXT,
    village TEXT,
    updated_at TEXT NOT NULL
);

-- The short code residents type at the venue. No 0/O, 1/I/L so it can be read off a board.
ALTER TABLE events ADD COLUMN checkin_code TEXT;

-- Six characters from 31 give about 887 million codes; the unique index makes a (very unlikely)
-- clash fail loudly instead of sending people to the wrong event.
UPDATE events SET checkin_code =
    substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + (random() & 16777215) % 31, 1) ||
    substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + (random() & 16777215) % 31, 1) ||
    substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + (random() & 16777215) % 31, 1) ||
    substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + (random() & 16777215) % 31, 1) ||
    substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + (random() & 16777215) % 31, 1) ||
    substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + (random() & 16777215) % 31, 1);
CREATE UNIQUE INDEX events_checkin_code ON events (checkin_code);

-- Events created later (content import, librarians' commands) get a code without every writer
-- having to remember it.
CREATE TRIGGER events_checkin_code_default AFTER INSERT ON events
WHEN NEW.checkin_code IS NULL
BEGIN
    UPDATE events SET checkin_code =
        substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + (random() & 16777215) % 31, 1) ||
        substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + (random() & 16777215) % 31, 1) ||
        substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + (random() & 16777215) % 31, 1) ||
        substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + (random() & 16777215) % 31, 1) ||
        substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + (random() & 16777215) % 31, 1) ||
        substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + (random() & 16777215) % 31, 1)
    WHERE id = NEW.id;
END;
