-- Intent: estimated people in the footfall aggregates. Each transit stores the calibration factor
-- (people per device) and its version in force for its gateway when it closed, so a new calibration
-- is never retroactive; the footfall aggregates are recreated with `estimated_people` and compressed.
-- The aggregates are dropped and recreated: this migration precedes the first release, so there is
-- no materialised history to lose (refresh policies rebuild their windows). A manual
-- refresh_continuous_aggregate must never reach past the transits' retention (400 days): refreshing a
-- range whose raw rows were dropped deletes its buckets. Irreversible.
CREATE TABLE gateway_calibrations (
  gateway_id text NOT NULL REFERENCES gateways (id),
  version integer NOT NULL,
  factor double precision NOT NULL CHECK (factor > 0),
  valid_from timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway_id, version)
);
INSERT INTO gateway_calibrations (gateway_id, version, factor)
SELECT id, 1, calibration_factor FROM gateways;

ALTER TABLE transits ADD COLUMN calibration_factor real NOT NULL DEFAULT 1;
ALTER TABLE transits ADD COLUMN calibration_version integer NOT NULL DEFAULT 1;
-- Transits written before this migration carry their gateway's factor, matching version 1 above.
UPDATE transits t SET calibration_factor = g.calibration_factor
FROM gateways g WHERE g.id = t.gateway_id AND g.calibration_factor <> 1;

DROP MATERIALIZED VIEW footfall_1d;
DROP MATERIALIZED VIEW footfall_1h;
DROP MATERIALIZED VIEW footfall_15m;

CREATE MATERIALIZED VIEW footfall_15m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
  time_bucket(INTERVAL '15 minutes', first_seen) AS bucket,
  gateway_id,
  zone_id,
  shop_id,
  count(*) FILTER (WHERE NOT visitor) AS passers_by,
  count(*) FILTER (WHERE visitor) AS visitors,
  sum(calibration_factor)::float8 AS estimated_people,
  max(calibration_version) AS calibration_version,
  coalesce(sum(dwell_s) FILTER (WHERE visitor), 0)::float8 AS dwell_s_sum,
  count(*) FILTER (WHERE visitor AND dwell_s < 60) AS dwell_lt_1m,
  count(*) FILTER (WHERE visitor AND dwell_s >= 60 AND dwell_s < 300) AS dwell_1_5m,
  count(*) FILTER (WHERE visitor AND dwell_s >= 300 AND dwell_s < 900) AS dwell_5_15m,
  count(*) FILTER (WHERE visitor AND dwell_s >= 900 AND dwell_s < 3600) AS dwell_15_60m,
  count(*) FILTER (WHERE visitor AND dwell_s >= 3600) AS dwell_gt_60m
FROM transits
GROUP BY 1, 2, 3, 4
WITH NO DATA;

CREATE MATERIALIZED VIEW footfall_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
  time_bucket(INTERVAL '1 hour', bucket) AS bucket,
  gateway_id,
  zone_id,
  shop_id,
  sum(passers_by)::bigint AS passers_by,
  sum(visitors)::bigint AS visitors,
  sum(estimated_people)::float8 AS estimated_people,
  max(calibration_version) AS calibration_version,
  sum(dwell_s_sum)::float8 AS dwell_s_sum,
  sum(dwell_lt_1m)::bigint AS dwell_lt_1m,
  sum(dwell_1_5m)::bigint AS dwell_1_5m,
  sum(dwell_5_15m)::bigint AS dwell_5_15m,
  sum(dwell_15_60m)::bigint AS dwell_15_60m,
  sum(dwell_gt_60m)::bigint AS dwell_gt_60m
FROM footfall_15m
GROUP BY 1, 2, 3, 4
WITH NO DATA;

-- Days follow the district's local time (Europe/Rome), as do the daily pseudonymisation keys.
CREATE MATERIALIZED VIEW footfall_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
  time_bucket(INTERVAL '1 day', bucket, 'Europe/Rome') AS bucket,
  gateway_id,
  zone_id,
  shop_id,
  sum(passers_by)::bigint AS passers_by,
  sum(visitors)::bigint AS visitors,
  sum(estimated_people)::float8 AS estimated_people,
  max(calibration_version) AS calibration_version,
  sum(dwell_s_sum)::float8 AS dwell_s_sum,
  sum(dwell_lt_1m)::bigint AS dwell_lt_1m,
  sum(dwell_1_5m)::bigint AS dwell_1_5m,
  sum(dwell_5_15m)::bigint AS dwell_5_15m,
  sum(dwell_15_60m)::bigint AS dwell_15_60m,
  sum(dwell_gt_60m)::bigint AS dwell_gt_60m
FROM footfall_1h
GROUP BY 1, 2, 3, 4
WITH NO DATA;

SELECT add_continuous_aggregate_policy('footfall_15m',
  start_offset => INTERVAL '3 days', end_offset => INTERVAL '15 minutes',
  schedule_interval => INTERVAL '1 minute');
SELECT add_continuous_aggregate_policy('footfall_1h',
  start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour',
  schedule_interval => INTERVAL '5 minutes');
SELECT add_continuous_aggregate_policy('footfall_1d',
  start_offset => INTERVAL '30 days', end_offset => INTERVAL '1 day',
  schedule_interval => INTERVAL '1 hour');

-- Compression after each aggregate's refresh window has passed (it must not compress what a refresh
-- may still rewrite), segmented by gateway like the transits.
ALTER MATERIALIZED VIEW footfall_15m SET (timescaledb.compress = true, timescaledb.compress_segmentby = 'gateway_id');
ALTER MATERIALIZED VIEW footfall_1h SET (timescaledb.compress = true, timescaledb.compress_segmentby = 'gateway_id');
ALTER MATERIALIZED VIEW footfall_1d SET (timescaledb.compress = true, timescaledb.compress_segmentby = 'gateway_id');
SELECT add_compression_policy('footfall_15m', compress_after => INTERVAL '7 days');
SELECT add_compression_policy('footfall_1h', compress_after => INTERVAL '30 days');
SELECT add_compression_policy('footfall_1d', compress_after => INTERVAL '90 days');

-- Retention: transits (pseudonyms already nulled after a day, see 0009) for 400 days, 15-minute
-- footfall for 2 years, hourly for 5; daily footfall is kept.
SELECT add_retention_policy('transits', drop_after => INTERVAL '400 days');
SELECT add_retention_policy('footfall_15m', drop_after => INTERVAL '2 years');
SELECT add_retention_policy('footfall_1h', drop_after => INTERVAL '5 years');
