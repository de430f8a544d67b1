-- Registered model versions. One row per (name, version); at most one active version per name.
CREATE TABLE models (
    name          TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    sha256        TEXT    NOT NULL,
    artifact_path TEXT    NOT NULL,
    size_bytes    INTEGER NOT NULL,
    task          TEXT    NOT NULL,
    preprocess    TEXT    NOT NULL, -- JSON PreprocessSpec
    labels        TEXT    NOT NULL, -- JSON array of class names
    signature     TEXT    NOT NULL, -- JSON ModelSignature (input/output names and shapes)
    source        TEXT    NOT NULL, -- the file path or URL it came from
    active        INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL, -- RFC 3339 UTC
    PRIMARY KEY (name, version)
);

-- Every classification answered (cached ones too). Ids are UUIDv7, so they sort by time.
CREATE TABLE inferences (
    id            TEXT    PRIMARY KEY,
    created_at    TEXT    NOT NULL, -- RFC 3339 UTC, millisecond precision, 'Z'
    model         TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    label         TEXT    NOT NULL,
    confidence    REAL    NOT NULL,
    in_domain     INTEGER NOT NULL,
    cached        INTEGER NOT NULL,
    timings       TEXT    NOT NULL, -- JSON Timings
    answer        TEXT    NOT NULL, -- JSON ClassifyResponse as sent
    image_sha256  TEXT    NOT NULL,
    object_key    TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    size_bytes    INTEGER NOT NULL,
    client_id     TEXT
);
CREATE INDEX inferences_label ON inferences (label, id);
CREATE INDEX inferences_created ON inferences (created_at);

-- The model output for an image under a model version: the answer cache. Any top_k can be
-- answered from the logits without running the model again.
CREATE TABLE output_cache (
    image_sha256  TEXT    NOT NULL,
    model         TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    logits        BLOB    NOT NULL, -- f32 little-endian
    created_at    TEXT    NOT NULL,
    PRIMARY KEY (image_sha256, model, version)
);
