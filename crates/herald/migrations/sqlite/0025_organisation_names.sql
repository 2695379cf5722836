-- The organisation's own domains and handles, which links in drafts must not imitate
-- (link safety's look-alike check). `kind` is 'domain' or 'handle'; names are kept as the
-- owner typed them (trimmed), one row each.
CREATE TABLE organisation_names (
    kind       TEXT    NOT NULL CHECK (kind IN ('domain', 'handle')),
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
) STRICT;
