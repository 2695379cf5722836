-- Herald's key as a confidential AT Protocol OAuth client, sealed by the vault. Sessions at
-- Bluesky are bound to this key, so it is kept rather than derived: `herald vault rekey`
-- re-wraps it and it stays the same. The first start after this migration keeps the key it
-- derived from the master key before, so nothing changes for connected accounts.
ALTER TABLE vault_meta ADD COLUMN bluesky_client_key BLOB;
