-- Intent: make Miglio's own TimescaleDB jobs safe to run concurrently. A production server's
-- scheduler runs a job while an operator (or a test) calls `CALL run_job(id)` for the same job, and
-- miglio_compute_flows then failed on flows_hourly's primary key (two runs deleting and inserting the
-- same hours). Each job now takes an advisory lock of its own first, so a second run waits for the
-- first and recomputes the same window (both jobs are idempotent). miglio_forget_pseudonyms also
-- moves sessions open for 44 h out of open_transits, which ingest reads and writes under each
-- gateway's advisory lock (`hashtext('miglio-gw:' || gateway_id)`, taken in lock-key order): it now
-- takes those locks first, the same way, so it cannot delete a session ingest is about to write back.
-- The bodies are those of 0009 with the locks added (procedures are replaced whole; the jobs call
-- them by name). Reversible by replacing them with 0009's bodies.

CREATE OR REPLACE PROCEDURE miglio_compute_flows(job_id integer, config jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  tz text := coalesce(config ->> 'tz', 'Europe/Rome');
  settle interval := coalesce((config ->> 'settle')::interval, INTERVAL '30 minutes');
  lookback interval := coalesce((config ->> 'lookback')::interval, INTERVAL '5 hours');
  win_to timestamptz := date_trunc('hour', now() - settle);
  done timestamptz;
  win_from timestamptz;
  scan_from timestamptz;
BEGIN
  -- One run at a time: a second one waits, then recomputes the same window.
  PERFORM pg_advisory_xact_lock(hashtext('miglio-job:compute_flows'));
  SELECT done_until INTO done FROM flow_progress;
  IF done IS NULL THEN
    SELECT date_trunc('hour', min(first_seen)) INTO done FROM transits WHERE pseudonym IS NOT NULL;
  END IF;
  IF done IS NULL THEN
    done := win_to;
  END IF;
  win_from := date_trunc('hour', done - lookback);
  IF win_from < win_to THEN
    scan_from := time_bucket(INTERVAL '1 day', win_from, tz);
    DROP TABLE IF EXISTS miglio_flow_pairs;
    CREATE TEMP TABLE miglio_flow_pairs AS
    SELECT origin, dest, arrived, day, greatest(0, extract(epoch FROM arrived - left_at))::float8 AS travel_s
    FROM (
      SELECT zone_id AS dest,
             first_seen AS arrived,
             time_bucket(INTERVAL '1 day', first_seen, tz) AS day,
             lag(zone_id) OVER w AS origin,
             lag(last_seen) OVER w AS left_at,
             lag(time_bucket(INTERVAL '1 day', first_seen, tz)) OVER w AS prev_day
      FROM transits
      WHERE pseudonym IS NOT NULL AND first_seen >= scan_from AND first_seen < win_to
      WINDOW w AS (PARTITION BY pseudonym ORDER BY first_seen, gateway_id)
    ) t
    WHERE origin IS NOT NULL AND origin <> dest AND day = prev_day;

    DELETE FROM flows_hourly WHERE bucket >= win_from AND bucket < win_to;
    INSERT INTO flows_hourly (bucket, origin_zone_id, dest_zone_id, flows, travel_s_p25, travel_s_median, travel_s_p75)
    SELECT time_bucket(INTERVAL '1 hour', arrived), origin, dest, count(*),
           percentile_cont(0.25) WITHIN GROUP (ORDER BY travel_s),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY travel_s),
           percentile_cont(0.75) WITHIN GROUP (ORDER BY travel_s)
    FROM miglio_flow_pairs WHERE arrived >= win_from
    GROUP BY 1, 2, 3;

    DELETE FROM flows_daily WHERE bucket >= scan_from AND bucket < win_to;
    INSERT INTO flows_daily (bucket, origin_zone_id, dest_zone_id, flows, travel_s_p25, travel_s_median, travel_s_p75)
    SELECT day, origin, dest, count(*),
           percentile_cont(0.25) WITHIN GROUP (ORDER BY travel_s),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY travel_s),
           percentile_cont(0.75) WITHIN GROUP (ORDER BY travel_s)
    FROM miglio_flow_pairs
    GROUP BY 1, 2, 3;
    DROP TABLE miglio_flow_pairs;
  END IF;
  INSERT INTO flow_progress (id, done_until) VALUES (true, greatest(done, win_to))
  ON CONFLICT (id) DO UPDATE SET done_until = excluded.done_until;
END
$$;

CREATE OR REPLACE PROCEDURE miglio_forget_pseudonyms(job_id integer, config jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  tz text := coalesce(config ->> 'tz', 'Europe/Rome');
  lookback interval := coalesce((config ->> 'lookback')::interval, INTERVAL '5 hours');
  hard_limit timestamptz := now() - coalesce((config ->> 'max_age')::interval, INTERVAL '44 hours');
  done timestamptz;
  forgotten timestamptz;
  cutoff timestamptz := hard_limit;
  lower_bound timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('miglio-job:forget_pseudonyms'));
  -- The gateways whose sessions this run may move out of open_transits, locked as ingest locks them
  -- (a volatile function in a subquery's target list runs row by row in the subquery's order).
  PERFORM count(*) FROM (
    SELECT pg_advisory_xact_lock(k) FROM (
      SELECT DISTINCT hashtext('miglio-gw:' || gateway_id) AS k FROM open_transits
      WHERE last_seen < hard_limit ORDER BY k) AS ordered) AS locked;
  SELECT done_until INTO done FROM flow_progress;
  IF done IS NOT NULL THEN
    cutoff := greatest(cutoff, time_bucket(INTERVAL '1 day', done - lookback, tz));
  END IF;
  -- Visit only the rows not visited yet (with 30 h of overlap for transits written late: ingest takes
  -- sightings up to 24 h old and sessions last at most a few hours), and never reach into compressed
  -- chunks (transits compress after 4 days) except once, to catch up after a long outage of this job.
  SELECT done_before INTO forgotten FROM forget_progress;
  lower_bound := least(now() - INTERVAL '3 days', coalesce(forgotten, '-infinity') - INTERVAL '30 hours');
  UPDATE transits SET pseudonym = NULL
  WHERE pseudonym IS NOT NULL AND first_seen >= lower_bound AND first_seen < cutoff;
  INSERT INTO forget_progress (id, done_before) VALUES (true, cutoff)
  ON CONFLICT (id) DO UPDATE SET done_before = greatest(forget_progress.done_before, excluded.done_before);

  INSERT INTO transits (first_seen, last_seen, gateway_id, zone_id, shop_id, pseudonym, dwell_s, peak_rssi,
                        samples, radio, randomised, visitor, threshold_version, calibration_factor, calibration_version)
  SELECT o.first_seen, o.last_seen, o.gateway_id, g.zone_id, g.shop_id, NULL,
         extract(epoch FROM o.last_seen - o.first_seen), o.peak_rssi, o.samples, o.radio, o.randomised,
         g.shop_id IS NOT NULL AND o.peak_rssi >= t.min_rssi
           AND extract(epoch FROM o.last_seen - o.first_seen) >= t.min_dwell_s,
         t.version, c.factor, c.version
  FROM open_transits o
  JOIN gateways g ON g.id = o.gateway_id
  JOIN LATERAL (SELECT version, min_rssi, min_dwell_s FROM gateway_thresholds
                WHERE gateway_id = o.gateway_id ORDER BY version DESC LIMIT 1) t ON true
  JOIN LATERAL (SELECT version, factor FROM gateway_calibrations
                WHERE gateway_id = o.gateway_id ORDER BY version DESC LIMIT 1) c ON true
  WHERE o.last_seen < hard_limit;
  DELETE FROM open_transits WHERE last_seen < hard_limit;
  DELETE FROM static_devices WHERE marked_at < hard_limit;
END
$$;
