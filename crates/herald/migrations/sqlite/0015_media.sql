-- Images attached to posts. The bytes live in <data_dir>/media/<file_name> (a random name,
-- mode 0600); the row says what the file is, as sniffed from its bytes, and its alt text.
CREATE TABLE post_media (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id     INTEGER NOT NULL REFERENCES posts (id),
    file_name   TEXT    NOT NULL UNIQUE,
    sha256      TEXT    NOT NULL,
    mime        TEXT    NOT NULL CHECK (mime IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
    size_bytes  INTEGER NOT NULL,
    width       INTEGER,
    height      INTEGER,
    alt         TEXT    NOT NULL,
    position    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX post_media_by_post ON post_media (post_id, position);
