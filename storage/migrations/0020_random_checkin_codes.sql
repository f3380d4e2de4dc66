-- Check-in codes are random again, chosen by storage/checkin_codes.py in the transaction that
-- inserts the events (it draws again when a code is taken, so no insert fails on the unique
-- index). 0019 derived them from the event's id, but ids are visible in button payloads and the
-- formula is in this repository: anyone could compute any event's code and check in from home.
-- Codes already given stay as they are (they may be printed on boards at the venue).
DROP TRIGGER events_checkin_code_default;
