-- A post's text has a version, raised by every change to its text or images, so that submit
-- and approve can name the text they were shown and step the post only if it is still that
-- text (compare-and-set on state and version).
ALTER TABLE posts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- "Rotate now" also when an account's gatekeeper is reassigned: the old gatekeeper could
-- reveal the password. SQLite cannot change a CHECK in place, so the table is made again.
CREATE TABLE rotations_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES social_accounts (id),
    reason        TEXT    NOT NULL CHECK (reason IN ('reused', 'breached', 'member_left', 'incident', 'gatekeeper_changed')),
    detail        TEXT    NOT NULL,
    requested_at  INTEGER NOT NULL,
    done_at       INTEGER,
    done_by       INTEGER REFERENCES users (id)
) STRICT;
INSERT INTO rotations_new (id, account_id, reason, detail, requested_at, done_at, done_by)
    SELECT id, account_id, reason, detail, requested_at, done_at, done_by FROM rotations;
DROP TABLE rotations;
ALTER TABLE rotations_new RENAME TO rotations;
CREATE INDEX rotations_open ON rotations (account_id, done_at);
