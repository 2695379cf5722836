-- A session's CSRF token is now derived from its cookie token (whose hash alone is stored),
-- so the token kept in clear beside each session goes.
ALTER TABLE sessions DROP COLUMN csrf_token;
