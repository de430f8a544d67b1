-- Server-side latency and cost of each answer as columns, so that /v1/stats can aggregate
-- them without parsing JSON. Rows written before this migration are filled from the JSON.
ALTER TABLE inferences ADD COLUMN total_ms REAL;
ALTER TABLE inferences ADD COLUMN cost_usd REAL;
UPDATE inferences SET total_ms = json_extract(timings, '$.total'), cost_usd = json_extract(answer, '$.cost_usd');
