-- The browsers each member has signed in from, known by the device cookie's random id (stored
-- hashed). A sign-in from a browser not listed here, by a member who has signed in before,
-- raises a "new sign-in from a new device" security alert.
CREATE TABLE sign_in_devices (
    user_id       INTEGER NOT NULL REFERENCES users (id),
    device_hash   TEXT    NOT NULL,
    browser       TEXT    NOT NULL,
    last_ip       TEXT    NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_hash)
) STRICT;
