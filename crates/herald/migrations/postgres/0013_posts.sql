-- Posts for one social account, and every step each took (the post's history).
CREATE TABLE posts (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT  NOT NULL REFERENCES social_accounts (id),
    author_id   BIGINT  NOT NULL REFERENCES users (id),
    text        TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'scheduled', 'publishing', 'published', 'failed', 'unconfirmed', 'expired_approval')),
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

CREATE INDEX posts_by_account ON posts (account_id, state);

CREATE TABLE post_events (
    id          BIGSERIAL PRIMARY KEY,
    post_id     BIGINT  NOT NULL REFERENCES posts (id),
    at          BIGINT  NOT NULL,
    actor_id    BIGINT  REFERENCES users (id),
    from_state  TEXT,
    to_state    TEXT    NOT NULL,
    note        TEXT    NOT NULL
);

CREATE INDEX post_events_by_post ON post_events (post_id, id);
