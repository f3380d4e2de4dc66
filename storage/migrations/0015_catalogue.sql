-- The libraries' book catalogues, harvested over OAI-PMH (bot/catalogue/), and their search index.
-- Was 0012, then 0014, until another branch took those numbers too (two files with one number: the
-- second is never applied); tests/test_migration_numbers.py checks that the numbers are unique. A
-- database that applied it under an earlier number meets it again: hence IF NOT EXISTS throughout.

-- Which system a library's catalogue runs on and how its harvests went.
CREATE TABLE IF NOT EXISTS catalogue_sources (
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

CREATE TABLE IF NOT EXISTS catalogue_records (
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
CREATE INDEX IF NOT EXISTS catalogue_records_work ON catalogue_records (work_key);

-- An external-content index over the records, kept in step by the triggers below. Columns in
-- ranking order: title, subjects, authors, then the stems.
CREATE VIRTUAL TABLE IF NOT EXISTS catalogue_fts USING fts5 (
    title, subjects, authors, stems,
    content = 'catalogue_records', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS catalogue_vocab USING fts5vocab (catalogue_fts, 'row');

CREATE TRIGGER IF NOT EXISTS catalogue_records_ai AFTER INSERT ON catalogue_records BEGIN
    INSERT INTO catalogue_fts (rowid, title, subjects, authors, stems)
    VALUES (new.id, new.title, new.subjects, new.authors, new.stems);
END;
CREATE TRIGGER IF NOT EXISTS catalogue_records_ad AFTER DELETE ON catalogue_records BEGIN
    INSERT INTO catalogue_fts (catalogue_fts, rowid, title, subjects, authors, stems)
    VALUES ('delete', old.id, old.title, old.subjects, old.authors, old.stems);
END;
CREATE TRIGGER IF NOT EXISTS catalogue_records_au AFTER UPDATE ON catalogue_records BEGIN
    INSERT INTO catalogue_fts (catalogue_fts, rowid, title, subjects, authors, stems)
    VALUES ('delete', old.id, old.title, old.subjects, old.authors, old.stems);
    INSERT INTO catalogue_fts (rowid, title, subjects, authors, stems)
    VALUES (new.id, new.title, new.subjects, new.authors, new.stems);
END;

-- A harvest in progress writes here, page by page; only a harvest that finished is moved into
-- catalogue_records, in one transaction. A failed one leaves the catalogue as it was.
DROP TABLE IF EXISTS catalogue_staging; -- transient; 0012 made it without `terms`
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
    terms TEXT NOT NULL DEFAULT '[]', -- JSON list of the record's words, for catalogue_terms
    PRIMARY KEY (library_id, identifier)
) WITHOUT ROWID;

-- Every word in the index, for finding the words one typo away from a typed one quickly.
CREATE TABLE IF NOT EXISTS catalogue_terms (term TEXT PRIMARY KEY) WITHOUT ROWID;
-- Records harvested before this table existed (the migration's earlier number) get their words.
INSERT OR IGNORE INTO catalogue_terms (term) SELECT term FROM catalogue_vocab;
