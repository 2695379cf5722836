-- Self-service and recovery: failed step-up codes counted per member (kept across restarts),
-- a second factor reset by an owner (the member enrols anew at their next sign-in), and what
-- a member sees of their own sessions (an id that is not the token's hash, and the address).

ALTER TABLE users ADD COLUMN step_up_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN second_factor_reset_at BIGINT;

ALTER TABLE sessions ADD COLUMN public_id TEXT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
UPDATE sessions SET public_id = md5(random()::text || token_hash) WHERE public_id IS NULL;
CREATE UNIQUE INDEX sessions_public_id ON sessions (public_id);
