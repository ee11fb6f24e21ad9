-- How an app is built, when `paas builder:set` forced it: 'dockerfile' (its Dockerfile, with
-- the container engine's builder) or 'buildpacks' (never the Dockerfile). No row: detection
-- decides, where a Dockerfile comes after every language buildpack.
CREATE TABLE app_builders (
    app_id TEXT PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    method TEXT NOT NULL CHECK (method IN ('dockerfile', 'buildpacks'))
);
