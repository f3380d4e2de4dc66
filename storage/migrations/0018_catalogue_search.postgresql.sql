-- PostgreSQL's catalogue search (storage/catalogue.py, _search_pg): one weighted tsvector per
-- record, title A, subjects B, authors C, stems D, with the 'simple' configuration (Indonesian
-- has none in PostgreSQL; the stems column carries Sastrawi's stems, already without accents),
-- and a GIN index. ts_rank with these weights ranks title, then subjects, then authors.
ALTER TABLE catalogue_records ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', title), 'A')
    || setweight(to_tsvector('simple', subjects), 'B')
    || setweight(to_tsvector('simple', authors), 'C')
    || setweight(to_tsvector('simple', stems), 'D')
) STORED;
CREATE INDEX catalogue_records_search ON catalogue_records USING gin (search);
