-- The company's policy rules (the guard's TOML), one row per saved version; the newest is in
-- force. Older versions stay, so every change can be seen and undone.
CREATE TABLE policy_rules (
    version     BIGINT  PRIMARY KEY,
    source      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    created_by  BIGINT  NOT NULL REFERENCES users (id)
);
