-- Bookings: one row per reservation of `quantity` units of one unit type for
-- the nights [check_in, check_out). What the traveller agreed to (listing and
-- unit names, prices, cancellation policy, time zone) is copied in at
-- creation, so later edits of the listing never change a booking.
-- Money is integer minor units in `currency`.
CREATE TABLE bookings (
    id                      uuid PRIMARY KEY,
    -- Short and human-readable ("RM-7K3P9Q"), for support calls and emails.
    reference               text NOT NULL UNIQUE,
    user_id                 uuid NOT NULL,
    guest_name              text NOT NULL,
    guest_email             text NOT NULL,
    listing_id              uuid NOT NULL,
    listing_title           text NOT NULL,
    operator_id             uuid NOT NULL,
    unit_id                 uuid NOT NULL,
    unit_name               text NOT NULL,
    check_in                date NOT NULL,
    check_out               date NOT NULL,
    guests                  integer NOT NULL CHECK (guests >= 1),
    quantity                integer NOT NULL CHECK (quantity >= 1),
    status                  text NOT NULL CHECK (status IN ('pending_payment', 'payment_failed', 'confirmed',
                                                            'expired', 'cancelled', 'completed')),
    currency                char(3) NOT NULL,
    total                   bigint NOT NULL CHECK (total >= 0),
    -- [{"date": "2026-05-01", "price": {"amount": 12000, "currency": "EUR"}}, ...], one entry per night.
    price_breakdown         jsonb NOT NULL,
    free_cancellation_hours integer NOT NULL CHECK (free_cancellation_hours >= 0),
    refund_percent_after    integer NOT NULL CHECK (refund_percent_after BETWEEN 0 AND 100),
    -- The listing's IANA time zone at booking time: "today", the free
    -- cancellation deadline and automatic completion are computed in it.
    timezone                text NOT NULL,
    -- Check-in at 00:00 listing time minus free_cancellation_hours; NULL when
    -- the policy has no free cancellation.
    free_cancellation_until timestamptz,
    hold_expires_at         timestamptz NOT NULL,
    note                    text,
    refund                  bigint CHECK (refund >= 0 AND refund <= total),
    cancel_reason           text,
    cancelled_by            text CHECK (cancelled_by IN ('traveller', 'operator', 'system')),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    completed_at            timestamptz,
    cancelled_at            timestamptz,
    CHECK (check_out > check_in),
    CHECK (status <> 'completed' OR completed_at IS NOT NULL),
    CHECK (status <> 'cancelled' OR cancelled_at IS NOT NULL)
);

-- GET /bookings: a traveller's bookings, newest first, keyset by (created_at, id).
CREATE INDEX bookings_user_idx ON bookings (user_id, created_at DESC, id);
-- GET /operator/bookings: the bookings on an operator's listings, newest first.
CREATE INDEX bookings_operator_idx ON bookings (operator_id, created_at DESC, id);
-- The expiry sweeper: unpaid bookings whose hold ran out.
CREATE INDEX bookings_expiry_idx ON bookings (status, hold_expires_at);
