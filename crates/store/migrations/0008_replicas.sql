-- Gateway replicas sharing this database: each `infergate serve` says it is alive every few
-- seconds, so that the others know how many there are (the per-key rate limits are divided
-- among the live ones). Rows of replicas that stopped are removed on a clean shutdown and
-- otherwise simply go stale.
CREATE TABLE gateway_replicas (
    id            TEXT    PRIMARY KEY, -- UUIDv7 chosen at start
    address       TEXT    NOT NULL,    -- where it listens, as it sees it
    started_at    TEXT    NOT NULL,    -- RFC 3339 UTC
    last_seen_at  TEXT    NOT NULL     -- RFC 3339 UTC
);

-- Which replica raised an alarm (its own latency); NULL for alarms from before replicas.
ALTER TABLE alarms ADD COLUMN replica TEXT;
