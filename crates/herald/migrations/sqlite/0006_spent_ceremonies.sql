-- WebAuthn ceremonies already completed, so a captured finish request cannot be replayed while
-- its token is still valid. Rows are pruned once expired.
CREATE TABLE spent_ceremonies (
    id          TEXT    PRIMARY KEY,
    expires_at  INTEGER NOT NULL
) STRICT;
