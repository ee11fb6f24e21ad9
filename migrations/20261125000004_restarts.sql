-- How many times `paas restart` asked for each process type of an app to be restarted. The
-- scheduler rolls a type over to new processes whenever its generation changes.
CREATE TABLE restarts (
    app_id       TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    process_type TEXT NOT NULL,
    generation   BIGINT NOT NULL CHECK (generation > 0),
    PRIMARY KEY (app_id, process_type)
);
