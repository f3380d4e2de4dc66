-- PostgreSQL twin of 0019: place aliases, readable check-in codes from the id, the listing index.

CREATE TABLE place_aliases (
    alias TEXT PRIMARY KEY,
    regency_codes TEXT NOT NULL,     -- JSON list of regency codes
    is_sample INTEGER NOT NULL DEFAULT 0
);

-- New events' codes: six characters without 0/O, 1/I/L, S/5, Z/2, B/8, from the id by a
-- bijection modulo 25^6 (no clashes); codes already given keep working.
CREATE FUNCTION pustaka_checkin_code_of(id BIGINT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(
        substr('ACDEFGHJKMNPQRTUVWXY34679',
               1 + (((id * 131071 + 7654321) % 244140625) / (25 ^ (6 - n))::bigint % 25)::int, 1),
        '' ORDER BY n)
    FROM generate_series(1, 6) AS n
$$;
CREATE FUNCTION pustaka_checkin_code_default() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.checkin_code IS NULL THEN
        NEW.checkin_code := pustaka_checkin_code_of(NEW.id);
    END IF;
    RETURN NEW;
END
$$;
ALTER TABLE events ALTER COLUMN checkin_code DROP DEFAULT;
CREATE TRIGGER events_checkin_code_default BEFORE INSERT ON events
FOR EACH ROW EXECUTE FUNCTION pustaka_checkin_code_default();

CREATE INDEX events_listing ON events (starts_at, ends_at, status, category, library_id);
CREATE INDEX events_by_library ON events (library_id, starts_at, ends_at, status, category);
