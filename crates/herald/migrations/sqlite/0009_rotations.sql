-- "Rotate now": event-driven requests to change an account's network password (a reused or
-- breached password, a member who could reveal it leaving, an incident), and who did it.
CREATE TABLE rotations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES social_accounts (id),
    reason        TEXT    NOT NULL CHECK (reason IN ('reused', 'breached', 'member_left', 'incident')),
    detail        TEXT    NOT NULL,
    requested_at  INTEGER NOT NULL,
    done_at       INTEGER,
    done_by       INTEGER REFERENCES users (id)
) STRICT;

CREATE INDEX rotations_open ON rotations (account_id, done_at);
