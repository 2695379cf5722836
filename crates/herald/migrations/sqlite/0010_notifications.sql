-- Messages for one member, shown in Herald until read: "your account's password must be
-- rotated", "an owner changed who may use your account", and the like. Never a secret.
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    subject     TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    link        TEXT,
    read_at     INTEGER
) STRICT;

CREATE INDEX notifications_for_user ON notifications (user_id, id);
