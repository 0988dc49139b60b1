-- The safety net for holds whose booking never committed (the booking
-- service crashed between holding and recording): the booking service sends
-- the time its hold expires, and a sweeper releases holds still 'held' a
-- grace period (ROAM_HOLD_EXPIRY_GRACE_S, default 10 minutes) after it.
-- NULL for holds made without one: those never expire by themselves.
ALTER TABLE holds ADD COLUMN expires_at timestamptz;

CREATE INDEX holds_expiry_idx ON holds (expires_at) WHERE status = 'held' AND expires_at IS NOT NULL;
