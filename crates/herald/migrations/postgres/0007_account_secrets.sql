-- The credential vault: each account's network login, 2FA seed, recovery codes, OAuth tokens
-- and notes, each sealed by the vault (bound to its account and field). Besides the sealed
-- value only non-secret facts are kept: the KEK version, the password's strength score, and a
-- keyed fingerprint that shows when two accounts share a password without revealing it.
CREATE TABLE account_secrets (
    account_id   BIGINT  NOT NULL REFERENCES social_accounts (id),
    field        TEXT    NOT NULL CHECK (field IN ('login_username', 'login_password', 'totp_seed', 'recovery_codes', 'oauth_tokens', 'notes')),
    sealed       BYTEA   NOT NULL,
    key_version  BIGINT  NOT NULL,
    strength     BIGINT ,
    fingerprint  TEXT,
    updated_at   BIGINT  NOT NULL,
    updated_by   BIGINT  NOT NULL REFERENCES users (id),
    PRIMARY KEY (account_id, field)
);

CREATE INDEX account_secrets_fingerprint ON account_secrets (fingerprint);
