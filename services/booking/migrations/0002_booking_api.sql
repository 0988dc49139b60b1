-- The public bookings API: hold release tracking, the payment that confirmed
-- a booking, and the idempotency keys of POST /bookings (roam/idempotency.h).

-- Set when inventory confirmed that the booking's units went back to sale
-- (after an expiry or a cancellation). Releases happen after the status
-- change commits and are retried by the sweeper until this is set.
ALTER TABLE bookings ADD COLUMN hold_released_at timestamptz;
-- The payment whose payment.succeeded event confirmed the booking.
ALTER TABLE bookings ADD COLUMN payment_id text;

-- The sweeper's retry queue: final bookings whose units are not yet back.
CREATE INDEX bookings_release_idx ON bookings (updated_at)
    WHERE hold_released_at IS NULL AND status IN ('expired', 'cancelled');
-- Automatic completion: confirmed bookings by check-out date.
CREATE INDEX bookings_confirmed_idx ON bookings (check_out) WHERE status = 'confirmed';

-- One row per (user, endpoint, Idempotency-Key); see roam/idempotency.h.
CREATE TABLE idempotency_keys (
    user_id      text NOT NULL,
    endpoint     text NOT NULL,
    key          text NOT NULL,
    -- SHA-256 (hex) of method, path and the canonical JSON body.
    fingerprint  text NOT NULL,
    state        text NOT NULL CHECK (state IN ('in_progress', 'done')),
    status       integer,
    response     text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- An in-progress record whose lease ran out belongs to a request that
    -- died: a retry with the same fingerprint may take it over.
    locked_until timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, endpoint, key),
    CHECK (state <> 'done' OR (status IS NOT NULL AND response IS NOT NULL))
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);
