-- The Idempotency-Key of the request that made each attempt, so a retry with
-- that key after a crash (once the key's lease has run out) answers with the
-- attempt already made instead of charging again.
ALTER TABLE payments ADD COLUMN idempotency_key text;
CREATE INDEX payments_key_idx ON payments (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
