-- Reviews of completed stays, one per booking, and each listing's rating
-- totals over its visible (not hidden) reviews.

CREATE TABLE reviews (
    id          uuid PRIMARY KEY,
    listing_id  uuid NOT NULL,
    -- One review per booking: this constraint decides, also between two
    -- submissions racing each other (409 already_reviewed).
    booking_id  uuid NOT NULL UNIQUE,
    user_id     uuid NOT NULL,
    -- The listing's operator as the booking recorded it: only they may reply.
    operator_id uuid NOT NULL,
    author_name text NOT NULL,
    rating      smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title       text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 120),
    body        text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
    reply_body  text CHECK (char_length(reply_body) BETWEEN 1 AND 5000),
    replied_at  timestamptz,
    -- Set by an admin; hidden reviews leave lists, summaries and ratings.
    hidden_at   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((reply_body IS NULL) = (replied_at IS NULL))
);

-- The three orders of GET /listings/{id}/reviews over visible reviews; within
-- one rating the newest come first, and id breaks ties.
CREATE INDEX reviews_newest_idx ON reviews (listing_id, created_at DESC, id DESC) WHERE hidden_at IS NULL;
CREATE INDEX reviews_rating_desc_idx ON reviews (listing_id, rating DESC, created_at DESC, id DESC)
    WHERE hidden_at IS NULL;
CREATE INDEX reviews_rating_asc_idx ON reviews (listing_id, rating ASC, created_at DESC, id DESC)
    WHERE hidden_at IS NULL;

-- Per-listing totals of visible reviews, changed in the same transaction as
-- the review that changes them. Its row lock orders a listing's changes, and
-- version (incremented by each) lets consumers ignore stale or repeated
-- events. n1..n5 are the histogram; count and sum follow from them.
CREATE TABLE listing_ratings (
    listing_id uuid PRIMARY KEY,
    count      integer NOT NULL DEFAULT 0,
    sum        bigint NOT NULL DEFAULT 0,
    n1         integer NOT NULL DEFAULT 0 CHECK (n1 >= 0),
    n2         integer NOT NULL DEFAULT 0 CHECK (n2 >= 0),
    n3         integer NOT NULL DEFAULT 0 CHECK (n3 >= 0),
    n4         integer NOT NULL DEFAULT 0 CHECK (n4 >= 0),
    n5         integer NOT NULL DEFAULT 0 CHECK (n5 >= 0),
    version    bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (count = n1 + n2 + n3 + n4 + n5),
    CHECK (sum = n1 + 2 * n2 + 3 * n3 + 4 * n4 + 5 * n5)
);
