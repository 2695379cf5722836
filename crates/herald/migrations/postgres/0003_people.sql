-- People and access: the organisation, its members, their second factors, sessions,
-- invitations, API tokens and login throttling. Secrets are stored only as hashes, or sealed
-- by the vault (totp_secret).

CREATE TABLE organisation (
    id          BIGINT  PRIMARY KEY CHECK (id = 1),
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE users (
    id              BIGSERIAL PRIMARY KEY,
    email           TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    password_hash   TEXT    NOT NULL,
    totp_secret     BYTEA   NOT NULL,
    totp_last_step  BIGINT  NOT NULL DEFAULT 0,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      BIGINT  NOT NULL,
    deactivated_at  BIGINT
);

CREATE TABLE recovery_codes (
    user_id    BIGINT  NOT NULL REFERENCES users (id),
    code_hash  TEXT    NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- The session cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash    TEXT    PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id),
    csrf_token    TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    last_seen_at  BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE invitations (
    token_hash   TEXT    PRIMARY KEY,
    email        TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    invited_by   BIGINT  NOT NULL REFERENCES users (id),
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    accepted_at  BIGINT
);

CREATE TABLE api_tokens (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id),
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    scopes        TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);

-- Failed logins per account and per address, for exponential backoff.
CREATE TABLE login_throttle (
    key            TEXT    PRIMARY KEY,
    failures       BIGINT  NOT NULL,
    blocked_until  BIGINT  NOT NULL
);
