-- A push whose release was recorded and made current while git had not yet moved the branch.
-- The row lives from that moment until paasd knows whether the ref moved: then the push is
-- finished (row deleted) or undone (the release marked failed, the previous release current
-- again, row deleted). paasd settles every row left by a kill when it starts.
CREATE TABLE pending_pushes (
    build_id            TEXT PRIMARY KEY REFERENCES builds (id) ON DELETE CASCADE,
    app_id              TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    ref_name            TEXT NOT NULL,
    new_commit          TEXT NOT NULL,
    release_id          TEXT NOT NULL,
    previous_release_id TEXT,
    created_at          BIGINT NOT NULL
);
CREATE INDEX pending_pushes_app_id ON pending_pushes (app_id);
