-- The company's policy rules (the guard's TOML), one row per saved version; the newest is in
-- force. Older versions stay, so every change can be seen and undone.
CREATE TABLE policy_rules (
    version     INTEGER PRIMARY KEY,
    source      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES users (id)
) STRICT;
