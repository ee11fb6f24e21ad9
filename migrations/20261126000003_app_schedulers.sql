-- Where an app's processes run, when `paas scheduler:set` chose it: 'docker' (containers on
-- paasd's own Docker engine) or 'swarm' (Swarm services over the Swarm's nodes). No row: the
-- platform's default (PAAS_SCHEDULER).
CREATE TABLE app_schedulers (
    app_id    TEXT PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    scheduler TEXT NOT NULL CHECK (scheduler IN ('docker', 'swarm'))
);
