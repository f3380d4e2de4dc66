-- Delivery and reminders (issue 4). Numbered 0004 because registration takes 0003.

-- Set when the platform said this person blocked the bot or deleted their account; cleared the
-- next time they write. While set, nothing is queued for or sent to them.
ALTER TABLE residents ADD COLUMN unreachable_at TEXT;
-- /pengingat: event reminders are separate from announcements (/berhenti) and may be turned off
-- on their own.
ALTER TABLE residents ADD COLUMN reminders_off INTEGER NOT NULL DEFAULT 0;
-- Minutes before the start, as a JSON list (e.g. [1440, 120]); NULL takes the deployment's
-- default (PUSTAKA_REMINDER_OFFSETS).
ALTER TABLE events ADD COLUMN reminder_offsets TEXT;

-- The worker claims due rows of one channel by priority, then due time: this index serves the
-- claim without a sort over every pending row of a large announcement.
CREATE INDEX outbox_claim ON outbox (status, channel, priority DESC, due_at, id);
CREATE INDEX outbox_recipient ON outbox (channel, recipient, status);
