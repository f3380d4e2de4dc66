-- PostgreSQL twin of 0020: check-in codes are random again, chosen by storage/checkin_codes.py
-- in the inserting transaction (drawn again when taken), no longer computed from the event's id
-- (ids are in button payloads and the formula is public). Codes already given stay as they are.
DROP TRIGGER events_checkin_code_default ON events;
DROP FUNCTION pustaka_checkin_code_default();
DROP FUNCTION pustaka_checkin_code_of(BIGINT);
-- The random default of 0003, unused since 0019 dropped the column default.
DROP FUNCTION IF EXISTS pustaka_checkin_code();
