-- A post's text has a version, raised by every change to its text or images, so that submit
-- and approve can name the text they were shown and step the post only if it is still that
-- text (compare-and-set on state and version).
ALTER TABLE posts ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- "Rotate now" also when an account's gatekeeper is reassigned: the old gatekeeper could
-- reveal the password.
ALTER TABLE rotations DROP CONSTRAINT rotations_reason_check;
ALTER TABLE rotations ADD CONSTRAINT rotations_reason_check
    CHECK (reason IN ('reused', 'breached', 'member_left', 'incident', 'gatekeeper_changed'));
