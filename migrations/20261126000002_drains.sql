-- Where an app's log goes besides its own log: log drains (`paas drains:add`, kind 'log':
-- syslog over TCP or HTTPS batches) and OTLP exports of logs and metrics
-- (`paas telemetry:add`, kind 'otlp'). The URL may carry credentials: it is never logged.
CREATE TABLE drains (
    app_id     TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    url        TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, kind, url)
);
