CREATE TABLE notes (
    id uuid PRIMARY KEY,
    text text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Effects applied by the consumer: one row per event it handled.
CREATE TABLE received (
    event_id uuid PRIMARY KEY,
    note_id uuid NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    seq bigserial
);
