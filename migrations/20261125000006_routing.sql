-- What the router needs beyond processes: custom domains (one app per host; a wildcard is
-- stored as `*.example.com`) and maintenance mode (a row = on, with an optional page URL).
CREATE TABLE domains (
    hostname   TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);

CREATE TABLE maintenance (
    app_id   TEXT PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    page_url TEXT
);
