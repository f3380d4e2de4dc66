-- A channel's rate across instances, as the platform counts it: at most `rate` sends arriving in
-- any one second (bot/delivery/shared.py). Each send holds one of `rate` slots from before it
-- leaves until one second after its answer came back; a slot held by a send in flight carries a
-- far-off time, so an instance that dies with it only keeps it that long.
CREATE TABLE channel_slots (
    channel TEXT NOT NULL,
    slot INTEGER NOT NULL,
    free_at REAL NOT NULL, -- seconds since the epoch; the slot may be taken from then on
    PRIMARY KEY (channel, slot)
) WITHOUT ROWID;
-- No index on free_at: a channel has a few hundred rows at most, and updates that change no
-- indexed column stay HOT on PostgreSQL (about 200 of them a second at R = 100).
