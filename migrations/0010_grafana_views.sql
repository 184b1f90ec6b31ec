-- Intent: a small, stable set of views for Grafana or a BI tool pointed at the database (see
-- docs/grafana.md). Their columns are a contract: change them only by adding columns or new views.
-- Flow cells below 5 devices are suppressed (NULL), as in the API. Reversible (drop the views).
CREATE VIEW v_footfall_zone_15m AS
SELECT f.bucket,
       f.zone_id,
       z.name AS zone_name,
       z.kind AS zone_kind,
       sum(f.passers_by)::bigint AS passers_by,
       sum(f.visitors)::bigint AS visitors,
       CASE WHEN sum(f.passers_by + f.visitors) > 0
            THEN sum(f.visitors)::float8 / sum(f.passers_by + f.visitors) END AS capture_rate,
       sum(f.estimated_people)::float8 AS estimated_people,
       CASE WHEN sum(f.visitors) > 0 THEN sum(f.dwell_s_sum) / sum(f.visitors) END AS dwell_mean_s
FROM footfall_15m f
JOIN zones z ON z.id = f.zone_id
GROUP BY f.bucket, f.zone_id, z.name, z.kind;

CREATE VIEW v_footfall_zone_1h AS
SELECT f.bucket,
       f.zone_id,
       z.name AS zone_name,
       z.kind AS zone_kind,
       sum(f.passers_by)::bigint AS passers_by,
       sum(f.visitors)::bigint AS visitors,
       CASE WHEN sum(f.passers_by + f.visitors) > 0
            THEN sum(f.visitors)::float8 / sum(f.passers_by + f.visitors) END AS capture_rate,
       sum(f.estimated_people)::float8 AS estimated_people,
       CASE WHEN sum(f.visitors) > 0 THEN sum(f.dwell_s_sum) / sum(f.visitors) END AS dwell_mean_s
FROM footfall_1h f
JOIN zones z ON z.id = f.zone_id
GROUP BY f.bucket, f.zone_id, z.name, z.kind;

CREATE VIEW v_flows_hourly AS
SELECT f.bucket,
       f.origin_zone_id,
       o.name AS origin_zone_name,
       f.dest_zone_id,
       d.name AS dest_zone_name,
       CASE WHEN f.flows >= 5 THEN f.flows END AS flows,
       CASE WHEN f.flows >= 5 THEN f.travel_s_median END AS travel_s_median,
       f.flows < 5 AS suppressed
FROM flows_hourly f
JOIN zones o ON o.id = f.origin_zone_id
JOIN zones d ON d.id = f.dest_zone_id;

CREATE VIEW v_gateway_health AS
SELECT g.id AS gateway_id,
       g.zone_id,
       g.shop_id,
       g.active,
       coalesce(s.state, 'unknown') AS state,
       s.fw,
       s.status_at,
       s.last_batch_at,
       extract(epoch FROM now() - s.last_batch_at)::float8 AS silent_s,
       s.seq_gaps,
       s.clock_skew_ms,
       s.queue
FROM gateways g
LEFT JOIN gateway_state s ON s.gateway_id = g.id;
