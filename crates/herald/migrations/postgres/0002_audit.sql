-- The tamper-evident audit log (see src/domain/audit.rs). Hashes are lowercase hex.
CREATE TABLE audit_log (
    seq        BIGINT  PRIMARY KEY,
    at         BIGINT  NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT,
    ip         TEXT,
    details    TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
);

CREATE INDEX audit_log_action ON audit_log (action, seq);

-- One row: the sequence number and hash of the newest entry. Appending updates it first, which
-- takes the write lock, so concurrent appends are serialized and the chain never forks.
CREATE TABLE audit_head (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    seq   BIGINT  NOT NULL,
    hash  TEXT    NOT NULL
);

INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_checkpoints (
    size       BIGINT  PRIMARY KEY,
    head_hash  TEXT    NOT NULL,
    signature  TEXT    NOT NULL,
    at         BIGINT  NOT NULL
);
