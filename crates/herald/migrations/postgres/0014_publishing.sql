-- Scheduling and publishing. Each account has a time zone (queue slots are local times there)
-- and a connection state; each post may have a time to publish and, once published, the
-- network's id and address for it; every publishing attempt is kept.
ALTER TABLE social_accounts ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE social_accounts ADD COLUMN connection TEXT NOT NULL DEFAULT 'not_connected'
    CHECK (connection IN ('not_connected', 'connected', 'reconnect_needed'));
ALTER TABLE social_accounts ADD COLUMN connected_as TEXT;

-- The time the author or a reviewer asked for (UTC milliseconds); NULL: not yet chosen.
ALTER TABLE posts ADD COLUMN scheduled_at BIGINT;
ALTER TABLE posts ADD COLUMN published_at BIGINT;
ALTER TABLE posts ADD COLUMN remote_id TEXT;
ALTER TABLE posts ADD COLUMN remote_url TEXT;
-- Why the post failed or is unconfirmed, in words for people.
ALTER TABLE posts ADD COLUMN problem TEXT;

CREATE INDEX posts_by_time ON posts (scheduled_at);

-- An account's weekly queue: posts put "in the queue" take the next free slot.
CREATE TABLE queue_slots (
    account_id  BIGINT NOT NULL REFERENCES social_accounts (id),
    -- ISO weekday, 1 = Monday … 7 = Sunday.
    weekday     BIGINT NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    -- Minutes after local midnight in the account's time zone.
    minute      BIGINT NOT NULL CHECK (minute BETWEEN 0 AND 1439),
    PRIMARY KEY (account_id, weekday, minute)
);

-- Every attempt to publish a post: when, by which worker, and how it ended.
CREATE TABLE publish_attempts (
    id           BIGSERIAL PRIMARY KEY,
    post_id      BIGINT NOT NULL REFERENCES posts (id),
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    worker       TEXT    NOT NULL,
    -- published, retry, failed, unconfirmed, reconciled; NULL while under way.
    outcome      TEXT,
    detail       TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX publish_attempts_by_post ON publish_attempts (post_id, id);
