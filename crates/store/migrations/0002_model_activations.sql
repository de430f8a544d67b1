-- Which version of each model was made active, and when: `models rollback` walks back
-- through this history. A rolled-back activation is marked, not deleted, so that a second
-- rollback goes one step further back instead of toggling.
CREATE TABLE model_activations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    activated_at  TEXT    NOT NULL, -- RFC 3339 UTC
    rolled_back   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX model_activations_name ON model_activations (name, id);

INSERT INTO model_activations (name, version, activated_at)
    SELECT name, version, created_at FROM models WHERE active = 1;
