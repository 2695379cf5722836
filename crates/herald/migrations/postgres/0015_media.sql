-- Images attached to posts. The bytes live in <data_dir>/media/<file_name> (a random name,
-- mode 0600); the row says what the file is, as sniffed from its bytes, and its alt text.
CREATE TABLE post_media (
    id          BIGSERIAL PRIMARY KEY,
    post_id     BIGINT  NOT NULL REFERENCES posts (id),
    file_name   TEXT    NOT NULL UNIQUE,
    sha256      TEXT    NOT NULL,
    mime        TEXT    NOT NULL CHECK (mime IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
    size_bytes  BIGINT  NOT NULL,
    width       BIGINT,
    height      BIGINT,
    alt         TEXT    NOT NULL,
    position    BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE INDEX post_media_by_post ON post_media (post_id, position);
