-- Staff and their own networks (issue 23): each member's own profiles and what each is for,
-- the company posts they shared through the networks' own share links, the policy's examples
-- of good and bad practice, the staff course in versions, and who completed it.

-- A member's own profile on a network. `lookalike` says, in words, which of the company's
-- accounts or names the handle imitates (NULL: none); owners are told when it is set.
CREATE TABLE staff_profiles (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users (id),
    network     TEXT    NOT NULL,
    handle      TEXT    NOT NULL,
    link        TEXT    NOT NULL,
    purpose     TEXT    NOT NULL CHECK (purpose IN ('personal', 'shares_news', 'represents')),
    lookalike   TEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (user_id, network, handle)
);

-- The author's suggested words for staff sharing a published post (checked by the guard).
CREATE TABLE share_texts (
    post_id     BIGINT  PRIMARY KEY REFERENCES posts (id),
    text        TEXT    NOT NULL,
    written_by  BIGINT  NOT NULL REFERENCES users (id),
    written_at  BIGINT  NOT NULL
);

-- One click on a share button: who shared which post to which network.
CREATE TABLE shares (
    id          BIGSERIAL PRIMARY KEY,
    post_id     BIGINT  NOT NULL REFERENCES posts (id),
    user_id     BIGINT  NOT NULL REFERENCES users (id),
    network     TEXT    NOT NULL,
    at          BIGINT  NOT NULL
);

CREATE INDEX shares_by_post ON shares (post_id, user_id);

-- Example posts in the policy: good or bad practice, and why.
CREATE TABLE policy_examples (
    id          BIGSERIAL PRIMARY KEY,
    text        TEXT    NOT NULL,
    verdict     TEXT    NOT NULL CHECK (verdict IN ('good', 'bad')),
    why         TEXT    NOT NULL,
    created_by  BIGINT  NOT NULL REFERENCES users (id),
    created_at  BIGINT  NOT NULL
);

-- The staff course in versions (Markdown with questions); the newest is in force, and the
-- course is required before posting once one is published.
CREATE TABLE training_courses (
    version     BIGINT  PRIMARY KEY,
    markdown    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    created_by  BIGINT  NOT NULL REFERENCES users (id)
);

-- Every attempt at the course: its score, whether it passed, and the policy version in force
-- then (0: no policy published), so that a new policy asks for the course again.
CREATE TABLE training_results (
    id              BIGSERIAL PRIMARY KEY,
    user_id         BIGINT  NOT NULL REFERENCES users (id),
    -- 0: the built-in course, before an owner published one.
    course_version  BIGINT  NOT NULL,
    policy_version  BIGINT  NOT NULL,
    correct         BIGINT  NOT NULL,
    total           BIGINT  NOT NULL,
    passed          BOOLEAN NOT NULL,
    completed_at    BIGINT  NOT NULL
);

CREATE INDEX training_results_by_user ON training_results (user_id, completed_at DESC);
