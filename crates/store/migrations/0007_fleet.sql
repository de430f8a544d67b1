-- Edge devices the controller manages (`infergate devices add`). Only the SHA-256 of a
-- device's token is stored; the token is shown once.
CREATE TABLE devices (
    id                  TEXT    PRIMARY KEY,
    device_type         TEXT    NOT NULL,          -- jetson_nano_2gb, raspberry_pi5, … (the energy predictor's device)
    token_sha256        TEXT    NOT NULL UNIQUE,
    agent_url           TEXT,                      -- where its agent listens, from its heartbeats
    created_at          TEXT    NOT NULL,          -- RFC 3339 UTC
    last_heartbeat_at   TEXT,                      -- RFC 3339 UTC
    last_status         TEXT,                      -- the agent's last status document (JSON)
    inference_desired   TEXT    NOT NULL DEFAULT 'stopped' CHECK (inference_desired IN ('running', 'stopped')),
    inference_run       INTEGER NOT NULL DEFAULT 0, -- bumped by every start, so a pulled start runs once
    inference_iterations INTEGER,
    revoked_at          TEXT                       -- RFC 3339 UTC; NULL while the device may connect
);

-- Every deployment ever asked for, refused ones included; the latest accepted one per device is
-- its desired model.
CREATE TABLE deployments (
    id                    TEXT    PRIMARY KEY,    -- UUIDv7
    device_id             TEXT    NOT NULL REFERENCES devices (id),
    model                 TEXT    NOT NULL,
    version               INTEGER NOT NULL,
    sha256                TEXT    NOT NULL,
    energy_budget_mwh     REAL    NOT NULL,
    predicted_energy_mwh  REAL,
    prediction_source     TEXT,                   -- model | prior
    state                 TEXT    NOT NULL,       -- refused | pending | delivered | ready | failed | rolled_back | superseded
    message               TEXT,
    created_at            TEXT    NOT NULL,
    updated_at            TEXT    NOT NULL
);
CREATE INDEX deployments_device ON deployments (device_id, created_at);

-- What happened to deployments, in order (the deployment log; never truncated).
CREATE TABLE deployment_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id  TEXT    NOT NULL REFERENCES deployments (id),
    device_id      TEXT    NOT NULL,
    event          TEXT    NOT NULL,
    detail         TEXT,
    at             TEXT    NOT NULL
);
CREATE INDEX deployment_events_device ON deployment_events (device_id, id);

-- Telemetry the agents pushed. (device_id, seq) is the agent's own numbering, so a sample
-- sent twice (a flush retried after a lost answer) is stored once.
CREATE TABLE device_telemetry (
    device_id    TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    at           TEXT    NOT NULL,   -- when the agent took it (RFC 3339 UTC)
    received_at  TEXT    NOT NULL,
    sample       TEXT    NOT NULL,   -- JSON
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX device_telemetry_time ON device_telemetry (device_id, at);
