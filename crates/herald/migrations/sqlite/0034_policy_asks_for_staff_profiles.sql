-- A policy version that asks every member to list their own social media profiles (or to say
-- they have none): a row here, by the version's number.
CREATE TABLE policy_staff_profiles (
    version INTEGER NOT NULL PRIMARY KEY REFERENCES policy_documents (version)
) STRICT;

-- Members who said they have no social media profiles of their own.
CREATE TABLE staff_profiles_none (
    user_id     INTEGER NOT NULL PRIMARY KEY REFERENCES users (id),
    declared_at INTEGER NOT NULL
) STRICT;
