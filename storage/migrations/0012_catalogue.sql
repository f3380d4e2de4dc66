-- The libraries' book catalogues, harvested over OAI-PMH (bot/catalogue/), and their search index.
-- Numbered after the issue (12) rather than the next free number, so that migrations added on
-- other branches at the same time do not share its number.

-- Which system a library's catalogue runs on and how its harvests went.
CREATE TABLE catalogue_sources (
    library_id INTEGER PRIMARY KEY REFERENCES libraries (id) ON DELETE CASCADE,
    system TEXT NOT NULL CHECK (system IN ('inlislite', 'slims')),
    url TEXT NOT NULL,
    records INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    last_success_at TEXT,
    -- When the last successful harvest started: an incremental harvest asks for records changed
    -- since then ('from'), so nothing edited during that harvest is missed.
    harvested_until TEXT,
    last_error TEXT,
    last_error_at TEXT
);

CREATE TABLE catalogue_records (
    id INTEGER PRIMARY KEY,
    library_id INTEGER NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    identifier TEXT NOT NULL, -- the OAI identifier
    title TEXT NOT NULL,
    authors TEXT NOT NULL DEFAULT '', -- '; ' separated, main author first
    subjects TEXT NOT NULL DEFAULT '', -- '; ' separated
    stems TEXT NOT NULL DEFAULT '', -- Indonesian stems of title and subjects (Sastrawi)
    publisher TEXT,
    year TEXT,
    call_number TEXT,
    isbn TEXT,
    language TEXT,
    work_key TEXT NOT NULL, -- the same book in other libraries (storage/catalogue_text.py)
    digest TEXT NOT NULL, -- unchanged records are not rewritten (nor re-indexed)
    is_sample INTEGER NOT NULL DEFAULT 0,
    UNIQUE (library_id, identifier)
);
CREATE INDEX catalogue_records_work ON catalogue_records (work_key);

-- An external-content index over the records, kept in step by the triggers below. Columns in
-- ranking order: title, subjects, authors, then the stems.
CREATE VIRTUAL TABLE catalogue_fts USING fts5 (
    title, subjects, authors, stems,
    content = 'catalogue_records', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE catalogue_vocab USING fts5vocab (catalogue_fts, 'row');

CREATE TRIGGER catalogue_records_ai AFTER INSERT ON catalogue_records BEGIN
    INSERT INTO catalogue_fts (rowid, title, subjects, authors, stems)
    VALUES (new.id, new.title, new.subjects, new.authors, new.stems);
END;
CREATE TRIGGER catalogue_records_ad AFTER DELETE ON catalogue_records BEGIN
    INSERT INTO catalogue_fts (catalogue_fts, rowid, title, subjects, authors, stems)
    VALUES ('delete', old.id, old.title, old.subjects, old.authors, old.stems);
END;
CREATE TRIGGER catalogue_records_au AFTER UPDATE ON catalogue_records BEGIN
    INSERT INTO catalogue_fts (catalogue_fts, rowid, title, subjects, authors, stems)
    VALUES ('delete', old.id, old.title, old.subjects, old.authors, old.stems);
    INSERT INTO catalogue_fts (rowid, title, subjects, authors, stems)
    VALUES (new.id, new.title, new.subjects, new.authors, new.stems);
END;

-- A harvest in progress writes here, page by page; only a harvest that finished is moved into
-- catalogue_records, in one transaction. A failed one leaves the catalogue as it was.
CREATE TABLE catalogue_staging (
    library_id INTEGER NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    title TEXT NOT NULL DEFAULT '',
    authors TEXT NOT NULL DEFAULT '',
    subjects TEXT NOT NULL DEFAULT '',
    stems TEXT NOT NULL DEFAULT '',
    publisher TEXT,
    year TEXT,
    call_number TEXT,
    isbn TEXT,
    language TEXT,
    work_key TEXT NOT NULL DEFAULT '',
    digest TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (library_id, identifier)
) WITHOUT ROWID;
