-- Intent: footfall per gateway (hence zone and shop) in hierarchical continuous aggregates,
-- 15 min → 1 h → 1 day. Created WITH NO DATA (the migrator runs in a transaction); refresh policies
-- fill them and real-time aggregation (materialized_only = false) covers the newest minutes.
CREATE MATERIALIZED VIEW footfall_15m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
  time_bucket(INTERVAL '15 minutes', first_seen) AS bucket,
  gateway_id,
  zone_id,
  shop_id,
  count(*) FILTER (WHERE NOT visitor) AS passers_by,
  count(*) FILTER (WHERE visitor) AS visitors,
  coalesce(sum(dwell_s) FILTER (WHERE visitor), 0) AS dwell_s_sum,
  count(*) FILTER (WHERE visitor AND dwell_s < 60) AS dwell_lt_1m,
  count(*) FILTER (WHERE visitor AND dwell_s >= 60 AND dwell_s < 300) AS dwell_1_5m,
  count(*) FILTER (WHERE visitor AND dwell_s >= 300 AND dwell_s < 900) AS dwell_5_15m,
  count(*) FILTER (WHERE visitor AND dwell_s >= 900 AND dwell_s < 3600) AS dwell_15_60m,
  count(*) FILTER (WHERE visitor AND dwell_s >= 3600) AS dwell_gt_60m
FROM transits
GROUP BY 1, 2, 3, 4
WITH NO DATA;

SELECT add_continuous_aggregate_policy('footfall_15m',
  start_offset => INTERVAL '3 days', end_offset => INTERVAL '15 minutes',
  schedule_interval => INTERVAL '1 minute');

CREATE MATERIALIZED VIEW footfall_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
  time_bucket(INTERVAL '1 hour', bucket) AS bucket,
  gateway_id,
  zone_id,
  shop_id,
  sum(passers_by)::bigint AS passers_by,
  sum(visitors)::bigint AS visitors,
  sum(dwell_s_sum) AS dwell_s_sum,
  sum(dwell_lt_1m)::bigint AS dwell_lt_1m,
  sum(dwell_1_5m)::bigint AS dwell_1_5m,
  sum(dwell_5_15m)::bigint AS dwell_5_15m,
  sum(dwell_15_60m)::bigint AS dwell_15_60m,
  sum(dwell_gt_60m)::bigint AS dwell_gt_60m
FROM footfall_15m
GROUP BY 1, 2, 3, 4
WITH NO DATA;

SELECT add_continuous_aggregate_policy('footfall_1h',
  start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour',
  schedule_interval => INTERVAL '5 minutes');

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
  sum(dwell_s_sum) AS dwell_s_sum,
  sum(dwell_lt_1m)::bigint AS dwell_lt_1m,
  sum(dwell_1_5m)::bigint AS dwell_1_5m,
  sum(dwell_5_15m)::bigint AS dwell_5_15m,
  sum(dwell_15_60m)::bigint AS dwell_15_60m,
  sum(dwell_gt_60m)::bigint AS dwell_gt_60m
FROM footfall_1h
GROUP BY 1, 2, 3, 4
WITH NO DATA;

SELECT add_continuous_aggregate_policy('footfall_1d',
  start_offset => INTERVAL '30 days', end_offset => INTERVAL '1 day',
  schedule_interval => INTERVAL '1 hour');
