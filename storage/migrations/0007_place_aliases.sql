-- Names people type for a regency besides its own: abbreviations (TTS, Mabar), the old or local
-- names, the main town ("Maumere" for Sikka). An alias may mean several regencies ("kupang": the
-- city and the regency), in which case the bot asks which one. Loaded from the content file.
CREATE TABLE place_aliases (
    alias TEXT PRIMARY KEY,          -- as written in the content file
    regency_codes TEXT NOT NULL,     -- JSON list of regency codes
    is_sample INTEGER NOT NULL DEFAULT 0
);
