-- Passkeys (WebAuthn credentials), a phishing-resistant second factor. A passkey holds a public
-- key and a signature counter, serialized by webauthn-rs; nothing in it is secret.
CREATE TABLE passkeys (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER NOT NULL REFERENCES users (id),
    name           TEXT    NOT NULL,
    credential_id  TEXT    NOT NULL UNIQUE,
    passkey        TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER
) STRICT;

CREATE INDEX passkeys_user ON passkeys (user_id);
