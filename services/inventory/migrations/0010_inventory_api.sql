-- What the listings, units, calendar and holds API needs beyond 0001: the
-- price and terms a hold sold, optional unit descriptions, and the index
-- behind GET /operator/listings.

-- What a hold sold, kept on the hold itself: a repeat of POST /internal/holds
-- with the same id answers exactly what the first call answered, even after
-- the operator changed prices, the title or the cancellation policy, and the
-- booking service can rely on the price and the policy it was quoted.
--
-- The columns are filled in the transaction that inserts the hold (the row
-- comes first, so that concurrent calls with one id meet at the primary key
-- before either touches the calendar), so they are never NULL once committed.
ALTER TABLE holds
    ADD COLUMN guests                  integer CHECK (guests >= 1),
    ADD COLUMN currency                char(3),
    ADD COLUMN total                   bigint CHECK (total >= 0),
    -- [{date, price: Money}] per night, in date order.
    ADD COLUMN nights                  json,
    -- {id, title, operator_id, currency, timezone, cancellation_policy} and
    -- {id, name, max_guests} as they were when the units were held.
    ADD COLUMN listing                 json,
    ADD COLUMN unit                    json,
    -- Check-in at 00:00 listing time minus free_cancellation_hours; NULL
    -- when the policy has no free cancellation.
    ADD COLUMN free_cancellation_until timestamptz;

-- A unit's description is optional: absent is NULL, not an empty string.
ALTER TABLE units ALTER COLUMN description DROP NOT NULL, ALTER COLUMN description DROP DEFAULT;
UPDATE units SET description = NULL WHERE description = '';

-- GET /operator/listings pages newest first by (created_at, id): one
-- backward index scan.
DROP INDEX listings_operator_idx;
CREATE INDEX listings_operator_idx ON listings (operator_id, created_at, id);
