-- Payments: one row per attempt to pay a booking. Card numbers and CVCs are
-- never stored: the brand and last four digits only. Money is integer minor
-- units in `currency` (the booking's total, never the client's figure).
CREATE TABLE payments (
    id            uuid PRIMARY KEY,
    booking_id    uuid NOT NULL,
    -- The booking's traveller and the listing's operator, copied from the
    -- booking when the attempt starts, so reads need no call to booking.
    user_id       text NOT NULL,
    operator_id   text,
    amount        bigint NOT NULL CHECK (amount >= 0),
    currency      text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- What refunds gave back so far; never more than was captured.
    refunded      bigint NOT NULL DEFAULT 0,
    status        text NOT NULL CHECK (status IN ('processing', 'succeeded', 'failed')),
    failure_code  text,
    card_brand    text NOT NULL,
    card_last4    text NOT NULL CHECK (card_last4 ~ '^[0-9]{4}$'),
    processor     text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (refunded >= 0 AND refunded <= amount),
    CHECK ((status = 'failed') = (failure_code IS NOT NULL))
);

-- At most one attempt per booking may be charging or have charged: a second
-- concurrent attempt fails to insert, before any processor is called.
CREATE UNIQUE INDEX payments_one_live_per_booking ON payments (booking_id)
    WHERE status IN ('processing', 'succeeded');
-- GET /bookings/{id}/payments, newest first (keyset).
CREATE INDEX payments_booking_idx ON payments (booking_id, created_at DESC, id DESC);
-- The recovery pass.
CREATE INDEX payments_processing_idx ON payments (created_at) WHERE status = 'processing';

-- Refunds of a succeeded payment, one per booking event that asked for one.
CREATE TABLE refunds (
    id            uuid PRIMARY KEY,
    payment_id    uuid NOT NULL REFERENCES payments (id),
    amount        bigint NOT NULL CHECK (amount > 0),
    status        text NOT NULL CHECK (status IN ('succeeded', 'failed')),
    -- booking_cancelled or refund_required.
    reason        text NOT NULL,
    -- The id of the booking event that caused it: one refund per event.
    source_event  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (payment_id, source_event)
);

-- The built-in sandbox processor's own books (processor_sandbox.c). It is
-- idempotent by reference, the payment id, like a real processor's
-- idempotency key, so the recovery pass can ask it what happened.
CREATE TABLE sandbox_charges (
    reference     text PRIMARY KEY,
    amount        bigint NOT NULL,
    currency      text NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('succeeded', 'declined')),
    failure_code  text,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE sandbox_refunds (
    reference        text PRIMARY KEY,
    charge_reference text NOT NULL REFERENCES sandbox_charges (reference),
    amount           bigint NOT NULL CHECK (amount > 0),
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- roam/idempotency.h: Idempotency-Key records of POST /payments.
CREATE TABLE idempotency_keys (
    user_id      text NOT NULL,
    endpoint     text NOT NULL,
    key          text NOT NULL,
    fingerprint  text NOT NULL,
    state        text NOT NULL CHECK (state IN ('in_progress', 'done')),
    status       integer,
    response     text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, endpoint, key)
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);
