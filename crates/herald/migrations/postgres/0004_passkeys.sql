-- Passkeys (WebAuthn credentials), a phishing-resistant second factor. A passkey holds a public
-- key and a signature counter, serialized by webauthn-rs; nothing in it is secret.
CREATE TABLE passkeys (
    id             BIGSERIAL PRIMARY KEY,
    user_id        BIGINT  NOT NULL REFERENCES users (id),
    name           TEXT    NOT NULL,
    credential_id  TEXT    NOT NULL UNIQUE,
    passkey        TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    last_used_at   BIGINT
);

CREATE INDEX passkeys_user ON passkeys (user_id);
