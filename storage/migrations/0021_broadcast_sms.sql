-- Announcements by SMS (issue 14): an announcement goes by SMS only when its author chose so in
-- /siaran (each segment is paid for). 1: residents who use SMS alone get it by SMS, and residents
-- with a verified SMS number get an SMS copy; 0: nobody gets it by SMS.
ALTER TABLE broadcasts ADD COLUMN sms INTEGER NOT NULL DEFAULT 0;
