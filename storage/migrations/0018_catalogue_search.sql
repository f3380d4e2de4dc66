-- SQLite searches the catalogue with the FTS5 table of 0015_catalogue.sql: nothing to do here.
-- PostgreSQL adds its full-text column in the twin, 0018_catalogue_search.postgresql.sql.
SELECT 1;
