-- Alarms raised by the gateway (e.g. p95 latency over its threshold), open until cleared.
CREATE TABLE alarms (
    id            TEXT    PRIMARY KEY, -- UUIDv7
    kind          TEXT    NOT NULL,    -- e.g. latency_p95
    raised_at     TEXT    NOT NULL,    -- RFC 3339 UTC
    cleared_at    TEXT,                -- NULL while open
    value         REAL    NOT NULL,    -- the measurement that raised it
    threshold     REAL    NOT NULL,
    message       TEXT    NOT NULL
);
CREATE INDEX alarms_open ON alarms (cleared_at, raised_at);
