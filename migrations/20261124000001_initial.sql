-- The initial schema of the paas store. It runs unchanged on SQLite and PostgreSQL, so it keeps
-- to the common subset: TEXT ids (UUIDs as strings), BIGINT unix-millisecond timestamps, BIGINT
-- 0/1 booleans, TEXT JSON objects, no AUTOINCREMENT/SERIAL, no ALTER TABLE ... ADD CONSTRAINT.
-- Every integer is BIGINT so that the sqlx Any driver decodes it as i64 on both databases.

-- Small key/value facts about this installation (for example its instance id).
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    admin         BIGINT NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    created_at    BIGINT NOT NULL
);

-- Hashes of API tokens; the tokens themselves are never stored.
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

-- current_release_id has no foreign key: apps and releases would reference each other, which
-- PostgreSQL cannot create without ALTER TABLE (SQLite cannot add constraints later). The store
-- checks that the release belongs to the app when it sets it.
CREATE TABLE apps (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    owner_id           TEXT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    current_release_id TEXT,
    created_at         BIGINT NOT NULL
);
CREATE INDEX apps_owner_id ON apps (owner_id);

-- Users with access to an app besides its owner.
CREATE TABLE collaborators (
    app_id     TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX collaborators_user_id ON collaborators (user_id);

-- process_types and config are JSON objects of string -> string.
CREATE TABLE releases (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    version       BIGINT NOT NULL CHECK (version > 0),
    image         TEXT NOT NULL,
    process_types TEXT NOT NULL,
    config        TEXT NOT NULL,
    description   TEXT NOT NULL,
    user_id       TEXT REFERENCES users (id) ON DELETE SET NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    created_at    BIGINT NOT NULL,
    UNIQUE (app_id, version)
);

-- seq numbers an app's builds 1, 2, 3, ... (the newest-first order, even within one
-- millisecond). user_id has no foreign key: the build history outlives a deleted user.
CREATE TABLE builds (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL CHECK (seq > 0),
    user_id     TEXT NOT NULL,
    git_commit  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    release_id  TEXT REFERENCES releases (id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    finished_at BIGINT,
    UNIQUE (app_id, seq)
);
CREATE INDEX builds_status ON builds (status);

-- Process type -> quantity per app.
CREATE TABLE formation (
    app_id       TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    process_type TEXT NOT NULL,
    quantity     BIGINT NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (app_id, process_type)
);
