-- In-app notifications: one row per event, recipient and type. The unique
-- key is what makes a redelivered event harmless even if its claim were
-- lost: the consumer inserts in the transaction that claims the event.
CREATE TABLE notifications (
    id           uuid PRIMARY KEY,
    -- Insertion order: the list's order and its keyset cursor.
    seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    event_id     uuid NOT NULL,
    recipient_id uuid NOT NULL,
    type         text NOT NULL CHECK (type IN ('booking_confirmed', 'payment_failed', 'booking_expired',
                                               'booking_cancelled', 'new_booking', 'booking_cancelled_by_guest')),
    title        text NOT NULL,
    body         text NOT NULL,
    booking_id   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    read_at      timestamptz,
    UNIQUE (event_id, recipient_id, type)
);

-- GET /notifications: a user's notifications, newest first.
CREATE INDEX notifications_recipient_idx ON notifications (recipient_id, seq DESC);
-- unread_count and ?unread=true.
CREATE INDEX notifications_unread_idx ON notifications (recipient_id, seq DESC) WHERE read_at IS NULL;

-- Email outbox: written with its notification, sent by the mailer thread.
-- A row is pending until the mail server accepts it (sent), or dead once
-- every attempt failed. The message is rendered when the event is consumed,
-- so a retry sends the same bytes; to_address is NULL when the recipient's
-- address must be looked up in the auth service at send time (operators).
CREATE TABLE emails (
    id              uuid PRIMARY KEY,
    notification_id uuid NOT NULL UNIQUE REFERENCES notifications (id),
    recipient_id    uuid NOT NULL,
    to_address      text,
    to_name         text,
    message_id      text NOT NULL UNIQUE,
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    CHECK (status <> 'sent' OR sent_at IS NOT NULL)
);

-- The mailer's queue: pending rows due now.
CREATE INDEX emails_due_idx ON emails (next_attempt_at) WHERE status = 'pending';
CREATE INDEX emails_dead_idx ON emails (id) WHERE status = 'dead';
