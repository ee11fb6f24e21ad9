-- The buildpacks an app chose with `paas buildpacks:set` / `buildpacks:add`, in the order they
-- run (git URL with optional #ref, or an absolute path on the server). None: BUILDPACK_URL,
-- a .buildpacks file or detection decides.
CREATE TABLE app_buildpacks (
    app_id   TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    position BIGINT NOT NULL CHECK (position > 0),
    url      TEXT NOT NULL,
    PRIMARY KEY (app_id, position)
);
