-- The scope `account:read` (your own member record) was too easily taken for `accounts:read`
-- (social accounts); it is now `me:read`. Scopes are stored separated by single spaces.
UPDATE api_tokens
   SET scopes = TRIM(REPLACE(' ' || scopes || ' ', ' account:read ', ' me:read '))
 WHERE ' ' || scopes || ' ' LIKE '% account:read %';
