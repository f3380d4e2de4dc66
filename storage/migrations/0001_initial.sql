-- Foundation schema. Times are stored as UTC text 'YYYY-MM-DDTHH:MM:SSZ' so they sort as text.

CREATE TABLE regencies (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('kabupaten', 'kota')),
    position INTEGER NOT NULL
);

CREATE TABLE residents (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'id' CHECK (language IN ('id', 'en')),
    -- Everything below is personal data and is only written once consent_at is set.
    consent_at TEXT,
    name TEXT,
    regency_code TEXT REFERENCES regencies (code),
    announcements_off INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (channel, external_id)
);

CREATE TABLE libraries (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('province', 'regency', 'village')),
    regency_code TEXT NOT NULL REFERENCES regencies (code),
    village TEXT,
    address TEXT NOT NULL,
    opening_hours TEXT NOT NULL,
    contact TEXT,
    services TEXT NOT NULL DEFAULT '[]', -- JSON list of short descriptions
    is_sample INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX libraries_regency ON libraries (regency_code);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    library_id INTEGER NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    place TEXT,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    capacity INTEGER CHECK (capacity IS NULL OR capacity > 0), -- NULL: no seat limit
    seats_taken INTEGER NOT NULL DEFAULT 0 CHECK (seats_taken >= 0),
    status TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('draft', 'open', 'closed', 'cancelled', 'finished')),
    questions TEXT NOT NULL DEFAULT '[]', -- JSON list: gender, age_band, village
    registration_opens_at TEXT,
    registration_closes_at TEXT,
    waitlist_limit INTEGER CHECK (waitlist_limit IS NULL OR waitlist_limit >= 0),
    is_sample INTEGER NOT NULL DEFAULT 0,
    CHECK (ends_at > starts_at),
    CHECK (capacity IS NULL OR seats_taken <= capacity)
);
CREATE INDEX events_start ON events (starts_at);
CREATE INDEX events_library ON events (library_id);

-- One row per chat identity: which flow and step the person is in, partial answers, and the
-- choices last shown (so typing "2" or a button's words picks that choice on any channel).
CREATE TABLE sessions (
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (channel, external_id)
) WITHOUT ROWID;

INSERT INTO regencies (code, name, kind, position) VALUES
    ('kota-kupang', 'Kota Kupang', 'kota', 1),
    ('kupang', 'Kupang', 'kabupaten', 2),
    ('tts', 'Timor Tengah Selatan', 'kabupaten', 3),
    ('ttu', 'Timor Tengah Utara', 'kabupaten', 4),
    ('belu', 'Belu', 'kabupaten', 5),
    ('malaka', 'Malaka', 'kabupaten', 6),
    ('alor', 'Alor', 'kabupaten', 7),
    ('lembata', 'Lembata', 'kabupaten', 8),
    ('flores-timur', 'Flores Timur', 'kabupaten', 9),
    ('sikka', 'Sikka', 'kabupaten', 10),
    ('ende', 'Ende', 'kabupaten', 11),
    ('nagekeo', 'Nagekeo', 'kabupaten', 12),
    ('ngada', 'Ngada', 'kabupaten', 13),
    ('manggarai-timur', 'Manggarai Timur', 'kabupaten', 14),
    ('manggarai', 'Manggarai', 'kabupaten', 15),
    ('manggarai-barat', 'Manggarai Barat', 'kabupaten', 16),
    ('sumba-timur', 'Sumba Timur', 'kabupaten', 17),
    ('sumba-tengah', 'Sumba Tengah', 'kabupaten', 18),
    ('sumba-barat', 'Sumba Barat', 'kabupaten', 19),
    ('sumba-barat-daya', 'Sumba Barat Daya', 'kabupaten', 20),
    ('sabu-raijua', 'Sabu Raijua', 'kabupaten', 21),
    ('rote-ndao', 'Rote Ndao', 'kabupaten', 22);
