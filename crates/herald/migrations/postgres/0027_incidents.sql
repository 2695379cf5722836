-- The day an account is hacked (issue 20): incidents, what happened in them, the account's
-- queue paused by a lockdown, the holding statements, and what the watcher last saw.

-- One incident per hacked (or suspected, or drilled) account. At most one is open per account,
-- so two people pressing "lock down" at once find the same incident.
CREATE TABLE incidents (
    id                   BIGSERIAL PRIMARY KEY,
    account_id           BIGINT  NOT NULL REFERENCES social_accounts (id),
    opened_by            TEXT    NOT NULL CHECK (opened_by IN ('detection', 'member', 'lockdown')),
    opened_by_user       BIGINT  REFERENCES users (id),
    status               TEXT    NOT NULL CHECK (status IN ('open', 'locked_down', 'closed')),
    owner_id             BIGINT  REFERENCES users (id),
    drill                BOOLEAN NOT NULL DEFAULT FALSE,
    summary              TEXT    NOT NULL,
    opened_at            BIGINT  NOT NULL,
    lockdown_started_at  BIGINT,
    locked_at            BIGINT,
    recovered_at         BIGINT,
    closed_at            BIGINT,
    closed_by            BIGINT  REFERENCES users (id),
    lessons              TEXT
);

CREATE UNIQUE INDEX incidents_one_open ON incidents (account_id) WHERE closed_at IS NULL;

-- The steps of a lockdown and of the recovery: one row each per incident, whose outcome a
-- retry or a tick changes (the timeline keeps every change).
CREATE TABLE incident_steps (
    incident_id  BIGINT  NOT NULL REFERENCES incidents (id),
    step         TEXT    NOT NULL,
    phase        TEXT    NOT NULL CHECK (phase IN ('lockdown', 'recovery')),
    outcome      TEXT    NOT NULL CHECK (outcome IN ('pending', 'done', 'failed', 'not_possible')),
    detail       TEXT    NOT NULL,
    by_user      BIGINT  REFERENCES users (id),
    at           BIGINT  NOT NULL,
    PRIMARY KEY (incident_id, step)
);

-- The incident's timeline: evidence, every step's outcome, notes, changes of status.
CREATE TABLE incident_events (
    id           BIGSERIAL PRIMARY KEY,
    incident_id  BIGINT  NOT NULL REFERENCES incidents (id),
    at           BIGINT  NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('evidence', 'lockdown', 'recovery', 'note', 'status')),
    actor_id     BIGINT  REFERENCES users (id),
    step         TEXT,
    outcome      TEXT,
    text         TEXT    NOT NULL
);

CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

-- An account whose queue a lockdown paused: the publisher starts no attempt for it until
-- someone resumes it explicitly.
CREATE TABLE account_pauses (
    account_id   BIGINT  PRIMARY KEY REFERENCES social_accounts (id),
    incident_id  BIGINT  NOT NULL REFERENCES incidents (id),
    paused_at    BIGINT  NOT NULL
);

-- Holding statement and all-clear, editable by owners.
CREATE TABLE incident_templates (
    kind        TEXT    PRIMARY KEY CHECK (kind IN ('holding', 'all_clear')),
    text        TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL,
    updated_by  BIGINT  REFERENCES users (id)
);

INSERT INTO incident_templates (kind, text, updated_at) VALUES
  ('holding', 'Our {account} account on {network} has been compromised. Please ignore any messages or links from it until we tell you otherwise. We are working to restore it.', 0),
  ('all_clear', 'Our {account} account on {network} is back under our control. Thank you for your patience; anything posted from it while it was compromised was not from us.', 0);

-- What the watcher saw of each account: its profile, and the network's ids of the posts it has
-- already judged (Herald's own, those there before watching began, and those it alerted on).
CREATE TABLE account_watch (
    account_id  BIGINT  PRIMARY KEY REFERENCES social_accounts (id),
    profile     TEXT    NOT NULL,
    checked_at  BIGINT  NOT NULL
);

CREATE TABLE account_watch_seen (
    account_id  BIGINT  NOT NULL REFERENCES social_accounts (id),
    remote_id   TEXT    NOT NULL,
    seen_at     BIGINT  NOT NULL,
    PRIMARY KEY (account_id, remote_id)
);
