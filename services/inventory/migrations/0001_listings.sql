-- Listings, their units, the per-date calendar and the holds of the booking
-- service. Money is integer minor units in the listing's currency.

-- Accent folding for search and city/country matching (trusted extensions:
-- the service's database role needs CREATE on the database, not superuser).
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- lower(unaccent(s)), immutable so that indexes can use it. The search_path
-- is fixed at creation (this schema) so the dictionary resolves the same way
-- whatever the caller's path is.
CREATE FUNCTION fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    SET search_path FROM CURRENT
    AS $$ SELECT lower(unaccent('unaccent'::regdictionary, $1)) $$;

CREATE TABLE listings (
    id                      uuid PRIMARY KEY,
    operator_id             uuid NOT NULL,
    type                    text NOT NULL CHECK (type IN ('hotel', 'apartment', 'tour', 'activity')),
    title                   text NOT NULL,
    description             text NOT NULL,
    city                    text NOT NULL,
    country                 text NOT NULL,
    address                 text,
    latitude                double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude               double precision CHECK (longitude BETWEEN -180 AND 180),
    timezone                text NOT NULL DEFAULT 'UTC',
    amenities               text[] NOT NULL DEFAULT '{}',
    photos                  text[] NOT NULL DEFAULT '{}',
    currency                char(3) NOT NULL,
    free_cancellation_hours integer NOT NULL CHECK (free_cancellation_hours >= 0),
    refund_percent_after    integer NOT NULL CHECK (refund_percent_after BETWEEN 0 AND 100),
    status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    -- The rating as last reported by the review service (see ratings.c):
    -- applied only when rating_version grows, so redelivered or reordered
    -- events change nothing.
    rating_count            integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    rating_sum              bigint NOT NULL DEFAULT 0 CHECK (rating_sum >= 0),
    rating_version          bigint NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);

CREATE INDEX listings_operator_idx ON listings (operator_id, created_at DESC, id);

-- A room type, or a ticket type of a tour or activity.
CREATE TABLE units (
    id          uuid PRIMARY KEY,
    listing_id  uuid NOT NULL REFERENCES listings (id),
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    max_guests  integer NOT NULL CHECK (max_guests >= 1),
    quantity    integer NOT NULL CHECK (quantity >= 0),
    base_price  bigint NOT NULL CHECK (base_price >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX units_listing_idx ON units (listing_id, created_at, id);

-- The calendar is sparse: a date without a row is open, sells the unit's
-- quantity at its base price, and has nothing held or booked. A row exists
-- once an operator changed the date or a hold touched it. The CHECK is the
-- overbooking guard: no statement can leave more units held plus booked than
-- the date's quantity, whatever the concurrency.
CREATE TABLE calendar_days (
    unit_id  uuid NOT NULL REFERENCES units (id),
    day      date NOT NULL,
    quantity integer NOT NULL CHECK (quantity >= 0),
    price    bigint NOT NULL CHECK (price >= 0),
    closed   boolean NOT NULL DEFAULT false,
    held     integer NOT NULL DEFAULT 0 CHECK (held >= 0),
    booked   integer NOT NULL DEFAULT 0 CHECK (booked >= 0),
    PRIMARY KEY (unit_id, day),
    CONSTRAINT calendar_days_not_oversold CHECK (held + booked <= quantity)
);

-- Units held for a booking (id = the booking's id) for every night of
-- [check_in, check_out). status: held, then booked (payment succeeded) or
-- released (expired or cancelled); a booked hold can be released too.
CREATE TABLE holds (
    id         uuid PRIMARY KEY,
    listing_id uuid NOT NULL REFERENCES listings (id),
    unit_id    uuid NOT NULL REFERENCES units (id),
    check_in   date NOT NULL,
    check_out  date NOT NULL,
    quantity   integer NOT NULL CHECK (quantity >= 1),
    status     text NOT NULL CHECK (status IN ('held', 'booked', 'released')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (check_out > check_in)
);

CREATE INDEX holds_unit_idx ON holds (unit_id, check_in);
