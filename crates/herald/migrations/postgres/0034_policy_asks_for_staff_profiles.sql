-- A policy version that asks every member to list their own social media profiles (or to say
-- they have none): a row here, by the version's number.
CREATE TABLE policy_staff_profiles (
    version BIGINT NOT NULL PRIMARY KEY REFERENCES policy_documents (version)
);

-- Members who said they have no social media profiles of their own.
CREATE TABLE staff_profiles_none (
    user_id     BIGINT NOT NULL PRIMARY KEY REFERENCES users (id),
    declared_at BIGINT NOT NULL
);
