-- Memory and CPU limits per process type of an app, set with `paas ps:resize`. A type without
-- a row runs with the platform's defaults.
CREATE TABLE process_sizes (
    app_id       TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    process_type TEXT NOT NULL,
    memory_mb    BIGINT NOT NULL CHECK (memory_mb > 0),
    cpu_millis   BIGINT NOT NULL CHECK (cpu_millis > 0),
    PRIMARY KEY (app_id, process_type)
);
