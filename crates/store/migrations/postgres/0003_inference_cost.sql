-- PostgreSQL twin of ../0003_inference_cost.sql.
ALTER TABLE inferences ADD COLUMN total_ms DOUBLE PRECISION;
ALTER TABLE inferences ADD COLUMN cost_usd DOUBLE PRECISION;
UPDATE inferences SET total_ms = (timings::jsonb ->> 'total')::double precision,
                      cost_usd = (answer::jsonb ->> 'cost_usd')::double precision;
