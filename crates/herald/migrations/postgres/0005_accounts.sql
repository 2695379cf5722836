-- The company's social accounts. Each has exactly one gatekeeper (a member), who alone decides
-- who else may use it; everyone else needs a grant to even see it.
CREATE TABLE social_accounts (
    id                      BIGSERIAL PRIMARY KEY,
    network                 TEXT    NOT NULL CHECK (network IN ('x', 'linkedin', 'facebook', 'instagram', 'threads', 'bluesky', 'mastodon')),
    handle                  TEXT    NOT NULL,
    display_name            TEXT    NOT NULL,
    avatar_colour           TEXT    NOT NULL,
    gatekeeper_id           BIGINT  NOT NULL REFERENCES users (id),
    confirm_before_publish  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at              BIGINT  NOT NULL,
    UNIQUE (network, handle)
);

CREATE TABLE account_grants (
    account_id  BIGINT  NOT NULL REFERENCES social_accounts (id),
    user_id     BIGINT  NOT NULL REFERENCES users (id),
    level       TEXT    NOT NULL CHECK (level IN ('publisher', 'contributor', 'viewer')),
    granted_by  BIGINT  NOT NULL REFERENCES users (id),
    granted_at  BIGINT  NOT NULL,
    PRIMARY KEY (account_id, user_id)
);

CREATE INDEX account_grants_user ON account_grants (user_id);
