-- E-mail and webhooks: what each notification is about (its kind decides how it is mailed),
-- the mail outbox, members' choices per kind, webhook endpoints and their deliveries.

-- `kind` names what a notification is about; `mail_state` is NULL until the mail job has
-- looked at it, then 'queued' (in the outbox), 'digest' (waiting for the daily digest),
-- 'digested' (in a sent digest) or 'skipped' (not mailed: no mail, or the member chose none).
ALTER TABLE notifications ADD COLUMN kind TEXT NOT NULL DEFAULT 'general';
ALTER TABLE notifications ADD COLUMN mail_state TEXT;
CREATE INDEX notifications_digest ON notifications (mail_state, user_id);

-- Every message Herald sends, written in the unit of work of the change that caused it.
-- `message_key` is unique per message (a notification, an invitation link, a digest day), so
-- writing it again adds nothing; a message is sent until `sent_at` is set, and never again.
-- The body (text and HTML, which may hold an invitation link) is sealed by the vault.
CREATE TABLE mail_outbox (
    id            BIGSERIAL PRIMARY KEY,
    message_key   TEXT    NOT NULL UNIQUE,
    recipient     TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    sealed_body   BYTEA    NOT NULL,
    key_version   BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT,
    last_attempt_at BIGINT,
    sent_at       BIGINT
);

-- How each member wants each kind of notification mailed: 'now', 'digest' or 'none'. No row:
-- at once. Security alerts are always mailed at once, whatever is stored here.
CREATE TABLE mail_preferences (
    user_id  BIGINT  NOT NULL REFERENCES users (id),
    kind     TEXT    NOT NULL,
    mode     TEXT    NOT NULL CHECK (mode IN ('now', 'digest', 'none')),
    PRIMARY KEY (user_id, kind)
);

-- Owners' webhook endpoints. The signing secret (`whsec_…`) is sealed by the vault.
CREATE TABLE webhook_endpoints (
    id            BIGSERIAL PRIMARY KEY,
    url           TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    format        TEXT    NOT NULL CHECK (format IN ('standard', 'slack', 'teams', 'discord')),
    -- JSON ["post.published", …]
    events        TEXT    NOT NULL,
    sealed_secret BYTEA    NOT NULL,
    key_version   BIGINT NOT NULL,
    created_by    BIGINT  NOT NULL REFERENCES users (id),
    created_at    BIGINT NOT NULL,
    -- Failed deliveries in a row (a success sets it back to 0); past the limit, disabled.
    failures_in_a_row BIGINT NOT NULL DEFAULT 0,
    disabled_at   BIGINT,
    disabled_reason TEXT,
    deleted_at    BIGINT
);

-- One delivery of one event to one endpoint, tried until delivered or given up (a day).
-- `message_id` is the Standard Webhooks `webhook-id`: the same on every try.
CREATE TABLE webhook_deliveries (
    id            BIGSERIAL PRIMARY KEY,
    endpoint_id   BIGINT  NOT NULL REFERENCES webhook_endpoints (id),
    message_id    TEXT    NOT NULL UNIQUE,
    event         TEXT    NOT NULL,
    -- The event as JSON (never a secret).
    payload       TEXT    NOT NULL,
    created_at    BIGINT NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    last_status   BIGINT,
    last_error    TEXT,
    last_duration_ms BIGINT,
    last_attempt_at BIGINT,
    delivered_at  BIGINT
);
CREATE INDEX webhook_deliveries_of_endpoint ON webhook_deliveries (endpoint_id, id);
