-- API tokens get an id (to list and revoke them), a description (which client asked for it),
-- an expiry and a last-use time. Portable like the initial migration: ADD COLUMN only, and the
-- new id is filled for existing rows from their hash with plain substr and ||.

ALTER TABLE api_tokens ADD COLUMN id TEXT;
ALTER TABLE api_tokens ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;

-- Tokens from before this migration: a UUID-shaped id made from their hash (the hash is not a
-- credential; the token is), the one way they could have been made, and one year of life from
-- their creation (tokens used to live forever).
UPDATE api_tokens SET
    id = substr(token_hash, 1, 8) || '-' || substr(token_hash, 9, 4) || '-4'
         || substr(token_hash, 14, 3) || '-8' || substr(token_hash, 18, 3) || '-'
         || substr(token_hash, 21, 12),
    description = 'created at sign-in',
    expires_at = created_at + 31536000000;

CREATE UNIQUE INDEX api_tokens_id ON api_tokens (id);
CREATE INDEX api_tokens_expires_at ON api_tokens (expires_at);
