-- People and access: the organisation, its members, their second factors, sessions,
-- invitations, API tokens and login throttling. Secrets are stored only as hashes, or sealed
-- by the vault (totp_secret).

CREATE TABLE organisation (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    password_hash   TEXT    NOT NULL,
    totp_secret     BLOB    NOT NULL,
    totp_last_step  INTEGER NOT NULL DEFAULT 0,
    active          INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    deactivated_at  INTEGER
) STRICT;

CREATE TABLE recovery_codes (
    user_id    INTEGER NOT NULL REFERENCES users (id),
    code_hash  TEXT    NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

-- The session cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash    TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    csrf_token    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE invitations (
    token_hash   TEXT    PRIMARY KEY,
    email        TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    invited_by   INTEGER NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    accepted_at  INTEGER
) STRICT;

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    scopes        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
) STRICT;

-- Failed logins per account and per address, for exponential backoff.
CREATE TABLE login_throttle (
    key            TEXT    PRIMARY KEY,
    failures       INTEGER NOT NULL,
    blocked_until  INTEGER NOT NULL
) STRICT;
