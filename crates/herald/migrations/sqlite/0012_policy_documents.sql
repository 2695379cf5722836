-- The company's social media policy in words (Markdown), one row per published version, and
-- who acknowledged which version when. Members must acknowledge the newest before posting.
CREATE TABLE policy_documents (
    version     INTEGER PRIMARY KEY,
    markdown    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES users (id)
) STRICT;

CREATE TABLE policy_acknowledgements (
    user_id          INTEGER NOT NULL REFERENCES users (id),
    version          INTEGER NOT NULL REFERENCES policy_documents (version),
    acknowledged_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, version)
) STRICT;
