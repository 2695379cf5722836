-- Messages for one member, shown in Herald until read: "your account's password must be
-- rotated", "an owner changed who may use your account", and the like. Never a secret.
CREATE TABLE notifications (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users (id),
    created_at  BIGINT  NOT NULL,
    subject     TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    link        TEXT,
    read_at     BIGINT
);

CREATE INDEX notifications_for_user ON notifications (user_id, id);
