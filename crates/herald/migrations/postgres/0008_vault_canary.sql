-- One sealed value whose only job is to prove, at every start, that the master key in use is
-- the one this database's secrets were sealed with: Herald refuses to serve with a wrong key.
CREATE TABLE vault_meta (
    id      BIGINT  PRIMARY KEY CHECK (id = 1),
    canary  BYTEA   NOT NULL
);
