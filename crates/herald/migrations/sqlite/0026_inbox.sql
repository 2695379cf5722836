-- The screened inbox: what came in to each social account (mentions, replies, comments,
-- messages, new followers), each item once per account (`network_key` is the network's own
-- id for it), with its screening verdict, and what the team did about it.
CREATE TABLE inbox_items (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES social_accounts (id),
    network_key   TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('mention', 'reply', 'comment', 'message', 'follower')),
    author_id     TEXT    NOT NULL,
    author_handle TEXT    NOT NULL,
    author_name   TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    -- Whether the text was cut to Herald's longest (the network's original is longer).
    text_cut      INTEGER NOT NULL,
    -- Where people see it on the network, when the network says.
    url           TEXT,
    -- What a reply must name to be threaded under it (JSON, the network's own references),
    -- or NULL when the item cannot be answered (a new follower).
    reply_to      TEXT,
    -- Each link as found and judged: JSON [{url, verdict, destination, reasons}].
    links         TEXT    NOT NULL,
    verdict       TEXT    NOT NULL CHECK (verdict IN ('safe', 'suspicious', 'dangerous')),
    -- Why, in people's words: JSON ["…"].
    reasons       TEXT    NOT NULL,
    -- The sender looks like one of the organisation's own accounts or names.
    impostor      INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('open', 'done')),
    assignee_id   INTEGER REFERENCES users (id),
    -- When it happened on the network, and when Herald read it.
    received_at   INTEGER NOT NULL,
    fetched_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (account_id, network_key)
) STRICT;

CREATE INDEX inbox_items_newest ON inbox_items (received_at DESC, id DESC);
CREATE INDEX inbox_items_by_account ON inbox_items (account_id, received_at DESC, id DESC);
CREATE INDEX inbox_items_open ON inbox_items (state, account_id);
-- The filters that pick few items (dangerous ones, one member's, one kind) walk these newest
-- first instead of sorting every item of the accounts.
CREATE INDEX inbox_items_by_verdict ON inbox_items (verdict, received_at DESC, id DESC);
CREATE INDEX inbox_items_by_assignee ON inbox_items (assignee_id, received_at DESC, id DESC);
CREATE INDEX inbox_items_by_kind ON inbox_items (kind, received_at DESC, id DESC);

-- Everything done with an item: assigned, done, undone, a note, a reply (the post), a link
-- opened anyway, an impostor reported to the network.
CREATE TABLE inbox_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id    INTEGER NOT NULL REFERENCES inbox_items (id),
    at         INTEGER NOT NULL,
    actor_id   INTEGER REFERENCES users (id),
    what       TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    post_id    INTEGER REFERENCES posts (id)
) STRICT;

CREATE INDEX inbox_events_by_item ON inbox_events (item_id, id);

-- Where reading each account's inbox got to (the network's cursor, opaque to Herald), when to
-- read it next (later after a rate limit or failures), and the last problem.
CREATE TABLE inbox_cursors (
    account_id   INTEGER PRIMARY KEY REFERENCES social_accounts (id),
    cursor       TEXT,
    next_read_at INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    problem      TEXT,
    read_at      INTEGER
) STRICT;
