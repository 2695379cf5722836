-- The company's security score, once a day (the security page's history chart). `day` is the
-- UTC date, YYYY-MM-DD; a later reading the same day replaces the earlier one.
CREATE TABLE security_scores (
    day         TEXT    PRIMARY KEY,
    score       BIGINT  NOT NULL CHECK (score BETWEEN 0 AND 100),
    recorded_at BIGINT  NOT NULL
);
