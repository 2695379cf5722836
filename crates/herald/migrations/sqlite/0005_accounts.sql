-- The company's social accounts. Each has exactly one gatekeeper (a member), who alone decides
-- who else may use it; everyone else needs a grant to even see it.
CREATE TABLE social_accounts (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    network                 TEXT    NOT NULL CHECK (network IN ('x', 'linkedin', 'facebook', 'instagram', 'threads', 'bluesky', 'mastodon')),
    handle                  TEXT    NOT NULL,
    display_name            TEXT    NOT NULL,
    avatar_colour           TEXT    NOT NULL,
    gatekeeper_id           INTEGER NOT NULL REFERENCES users (id),
    confirm_before_publish  INTEGER NOT NULL DEFAULT 0,
    created_at              INTEGER NOT NULL,
    UNIQUE (network, handle)
) STRICT;

CREATE TABLE account_grants (
    account_id  INTEGER NOT NULL REFERENCES social_accounts (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    level       TEXT    NOT NULL CHECK (level IN ('publisher', 'contributor', 'viewer')),
    granted_by  INTEGER NOT NULL REFERENCES users (id),
    granted_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id)
) STRICT;

CREATE INDEX account_grants_user ON account_grants (user_id);
