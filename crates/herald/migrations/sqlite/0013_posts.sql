-- Posts for one social account, and every step each took (the post's history).
CREATE TABLE posts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES social_accounts (id),
    author_id   INTEGER NOT NULL REFERENCES users (id),
    text        TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'scheduled', 'publishing', 'published', 'failed', 'unconfirmed', 'expired_approval')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX posts_by_account ON posts (account_id, state);

CREATE TABLE post_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id     INTEGER NOT NULL REFERENCES posts (id),
    at          INTEGER NOT NULL,
    actor_id    INTEGER REFERENCES users (id),
    from_state  TEXT,
    to_state    TEXT    NOT NULL,
    note        TEXT    NOT NULL
) STRICT;

CREATE INDEX post_events_by_post ON post_events (post_id, id);
