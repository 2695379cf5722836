-- The tamper-evident audit log (see src/domain/audit.rs). Hashes are lowercase hex.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT,
    ip         TEXT,
    details    TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_log_action ON audit_log (action, seq);

-- One row: the sequence number and hash of the newest entry. Appending updates it first, which
-- takes the write lock, so concurrent appends are serialized and the chain never forks.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT    NOT NULL
) STRICT;

INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_checkpoints (
    size       INTEGER PRIMARY KEY,
    head_hash  TEXT    NOT NULL,
    signature  TEXT    NOT NULL,
    at         INTEGER NOT NULL
) STRICT;
