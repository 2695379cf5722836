-- Herald's application at each Mastodon instance a gatekeeper connected an account on, made
-- by the instance's app registration on first use. The client secret is sealed by the vault
-- (bound to the instance and redirect URI); the id is not secret. A new redirect URI (a new
-- public_url) registers again.
CREATE TABLE oauth_apps (
    server        TEXT    NOT NULL,
    redirect_uri  TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    sealed_secret BYTEA   NOT NULL,
    key_version   BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (server, redirect_uri)
);
