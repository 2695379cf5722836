-- The day an account is hacked (issue 20): incidents, what happened in them, the account's
-- queue paused by a lockdown, the holding statements, and what the watcher last saw.

-- One incident per hacked (or suspected, or drilled) account. At most one is open per account,
-- so two people pressing "lock down" at once find the same incident.
CREATE TABLE incidents (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id           INTEGER NOT NULL REFERENCES social_accounts (id),
    opened_by            TEXT    NOT NULL CHECK (opened_by IN ('detection', 'member', 'lockdown')),
    opened_by_user       INTEGER REFERENCES users (id),
    status               TEXT    NOT NULL CHECK (status IN ('open', 'locked_down', 'closed')),
    owner_id             INTEGER REFERENCES users (id),
    drill                INTEGER NOT NULL DEFAULT 0,
    summary              TEXT    NOT NULL,
    opened_at            INTEGER NOT NULL,
    lockdown_started_at  INTEGER,
    locked_at            INTEGER,
    recovered_at         INTEGER,
    closed_at            INTEGER,
    closed_by            INTEGER REFERENCES users (id),
    lessons              TEXT
) STRICT;

CREATE UNIQUE INDEX incidents_one_open ON incidents (account_id) WHERE closed_at IS NULL;

-- The steps of a lockdown and of the recovery: one row each per incident, whose outcome a
-- retry or a tick changes (the timeline keeps every change).
CREATE TABLE incident_steps (
    incident_id  INTEGER NOT NULL REFERENCES incidents (id),
    step         TEXT    NOT NULL,
    phase        TEXT    NOT NULL CHECK (phase IN ('lockdown', 'recovery')),
    outcome      TEXT    NOT NULL CHECK (outcome IN ('pending', 'done', 'failed', 'not_possible')),
    detail       TEXT    NOT NULL,
    by_user      INTEGER REFERENCES users (id),
    at           INTEGER NOT NULL,
    PRIMARY KEY (incident_id, step)
) STRICT;

-- The incident's timeline: evidence, every step's outcome, notes, changes of status.
CREATE TABLE incident_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id),
    at           INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('evidence', 'lockdown', 'recovery', 'note', 'status')),
    actor_id     INTEGER REFERENCES users (id),
    step         TEXT,
    outcome      TEXT,
    text         TEXT    NOT NULL
) STRICT;

CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

-- An account whose queue a lockdown paused: the publisher starts no attempt for it until
-- someone resumes it explicitly.
CREATE TABLE account_pauses (
    account_id   INTEGER PRIMARY KEY REFERENCES social_accounts (id),
    incident_id  INTEGER NOT NULL REFERENCES incidents (id),
    paused_at    INTEGER NOT NULL
) STRICT;

-- Holding statement and all-clear, editable by owners.
CREATE TABLE incident_templates (
    kind        TEXT    PRIMARY KEY CHECK (kind IN ('holding', 'all_clear')),
    text        TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  INTEGER REFERENCES users (id)
) STRICT;

INSERT INTO incident_templates (kind, text, updated_at) VALUES
  ('holding', 'Our {account} account on {network} has been compromised. Please ignore any messages or links from it until we tell you otherwise. We are working to restore it.', 0),
  ('all_clear', 'Our {account} account on {network} is back under our control. Thank you for your patience; anything posted from it while it was compromised was not from us.', 0);

-- What the watcher saw of each account: its profile, and the network's ids of the posts it has
-- already judged (Herald's own, those there before watching began, and those it alerted on).
CREATE TABLE account_watch (
    account_id  INTEGER PRIMARY KEY REFERENCES social_accounts (id),
    profile     TEXT    NOT NULL,
    checked_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE account_watch_seen (
    account_id  INTEGER NOT NULL REFERENCES social_accounts (id),
    remote_id   TEXT    NOT NULL,
    seen_at     INTEGER NOT NULL,
    PRIMARY KEY (account_id, remote_id)
) STRICT;
