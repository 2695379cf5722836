-- "Rotate now": event-driven requests to change an account's network password (a reused or
-- breached password, a member who could reveal it leaving, an incident), and who did it.
CREATE TABLE rotations (
    id            BIGSERIAL PRIMARY KEY,
    account_id    BIGINT  NOT NULL REFERENCES social_accounts (id),
    reason        TEXT    NOT NULL CHECK (reason IN ('reused', 'breached', 'member_left', 'incident')),
    detail        TEXT    NOT NULL,
    requested_at  BIGINT  NOT NULL,
    done_at       BIGINT ,
    done_by       BIGINT  REFERENCES users (id)
);

CREATE INDEX rotations_open ON rotations (account_id, done_at);
