-- Every invocation the router forwarded (POST /v1/invoke/{function}): where it ran and how it went.
CREATE TABLE invocations (
    id            TEXT    PRIMARY KEY, -- UUIDv7
    function      TEXT    NOT NULL,
    platform      TEXT    NOT NULL,    -- where it was answered (or last tried): lambda | ecs
    backend       TEXT    NOT NULL,    -- the backend's kind: local-function | local-container | http
    status        INTEGER NOT NULL,    -- HTTP status returned to the client
    outcome       TEXT    NOT NULL,    -- ok | backend_error | timeout | bad_reply | unavailable | throttled
    latency_ms    REAL    NOT NULL,    -- arrival at the router to the answer
    exec_ms       REAL,                -- the backend's own run time, when it says
    cold_start    INTEGER NOT NULL,    -- 1 when the answer needed a new worker
    cost_usd      REAL    NOT NULL,    -- from the pricing table and the measured duration
    fallback      INTEGER NOT NULL,    -- 1 when the first platform failed and the other answered
    payload_bytes INTEGER NOT NULL,
    error         TEXT,                -- why it failed (first attempt's error too, on a fallback)
    created_at    TEXT    NOT NULL     -- RFC 3339 UTC
);
CREATE INDEX invocations_function_time ON invocations (function, created_at);
