-- The one-time setup code: while nobody has set Herald up, a random nonce from which the code is
-- derived with a key from the master key (so neither the database nor the key file alone gives
-- the code). Deleted in the transaction that creates the organisation: the code works once.
CREATE TABLE setup_code (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    nonce       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- Sign-in throttles per address and per account count failures within a window (an hour), so a
-- slow attacker's failures do not add up for ever; 0 for counts that are only cleared by a
-- successful sign-in.
ALTER TABLE login_throttle ADD COLUMN window_started_at BIGINT NOT NULL DEFAULT 0;
