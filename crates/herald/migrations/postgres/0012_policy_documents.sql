-- The company's social media policy in words (Markdown), one row per published version, and
-- who acknowledged which version when. Members must acknowledge the newest before posting.
CREATE TABLE policy_documents (
    version     BIGINT  PRIMARY KEY,
    markdown    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    created_by  BIGINT  NOT NULL REFERENCES users (id)
);

CREATE TABLE policy_acknowledgements (
    user_id          BIGINT  NOT NULL REFERENCES users (id),
    version          BIGINT  NOT NULL REFERENCES policy_documents (version),
    acknowledged_at  BIGINT  NOT NULL,
    PRIMARY KEY (user_id, version)
);
