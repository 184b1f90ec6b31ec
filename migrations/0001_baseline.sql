-- Intent: Miglio's schema, stated once. This baseline replaces the history 0001–0015 (squashed before
-- the first deployment; docs/architecture.md, "Storage"). It is frozen like every merged migration
-- (migrations/manifest.json): change the schema by adding a migration, never by editing this file.
-- Irreversible (it creates everything).
--
-- Sections: extension · registry · ingest · API · metric rules · footfall aggregates · flows and
-- privacy retention jobs · Grafana views. Nothing here names a time zone: local days follow the
-- district's `timezone` (miglio_local_zone()), and footfall_1d is created for that zone by
-- miglio_ensure_daily_aggregate(), which the district loader calls.

CREATE EXTENSION IF NOT EXISTS timescaledb;

------------------------------------------------------------------------------------------------------
-- Registry: the district, zones, shops, gateways and their versioned visitor thresholds and
-- calibration factors, loaded from a district file (services/shared/registry/district-repository.ts).
------------------------------------------------------------------------------------------------------

-- One database serves one time zone: the loader refuses a district whose zone differs from the
-- other districts' (a daily aggregate has one zone).
CREATE TABLE districts (
  id text PRIMARY KEY,
  name text NOT NULL,
  timezone text NOT NULL,
  street_length_m double precision NOT NULL,
  loaded_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE zones (
  id text PRIMARY KEY,
  district_id text NOT NULL REFERENCES districts (id),
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('street', 'shop', 'square')),
  geometry jsonb NOT NULL,
  street_from_m double precision NOT NULL,
  street_to_m double precision NOT NULL
);

CREATE TABLE shops (
  id text PRIMARY KEY,
  district_id text NOT NULL REFERENCES districts (id),
  zone_id text NOT NULL REFERENCES zones (id),
  name text NOT NULL,
  category text NOT NULL,
  street_offset_m double precision NOT NULL
);

CREATE TABLE gateways (
  id text PRIMARY KEY,
  district_id text NOT NULL REFERENCES districts (id),
  zone_id text NOT NULL REFERENCES zones (id),
  shop_id text REFERENCES shops (id),
  placement text NOT NULL CHECK (placement IN ('indoor', 'street')),
  radios text[] NOT NULL,
  lon double precision NOT NULL,
  lat double precision NOT NULL,
  street_offset_m double precision NOT NULL,
  rssi_floor smallint NOT NULL,
  -- The factor of the latest calibration version (gateway_calibrations holds every version).
  calibration_factor double precision NOT NULL DEFAULT 1,
  -- false once a reloaded district file no longer lists the gateway: its history stays.
  active boolean NOT NULL DEFAULT true
);

-- Visitor thresholds are versioned and never retroactive: each transit stores the version it was
-- classified with; a district reload that changes a gateway's thresholds adds a version.
CREATE TABLE gateway_thresholds (
  gateway_id text NOT NULL REFERENCES gateways (id),
  version integer NOT NULL,
  min_rssi smallint NOT NULL,
  min_dwell_s integer NOT NULL,
  valid_from timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway_id, version)
);

-- People per device (from manual counts), versioned like the thresholds: each transit stores the
-- factor and version in force for its gateway when it closed, so a new calibration is never
-- retroactive.
CREATE TABLE gateway_calibrations (
  gateway_id text NOT NULL REFERENCES gateways (id),
  version integer NOT NULL,
  factor double precision NOT NULL CHECK (factor > 0),
  valid_from timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway_id, version)
);

------------------------------------------------------------------------------------------------------
-- Ingest: daily pseudonymisation keys, batch identities, open sessions, closed transits (the
-- long-lived fact table), gateway state, learned static devices and dead letters.
------------------------------------------------------------------------------------------------------

-- One random key per local day, shared by every ingest replica; deleted after the day plus a grace.
CREATE TABLE pseudonym_keys (
  day date PRIMARY KEY,
  key bytea NOT NULL CHECK (octet_length(key) = 32),
  destroy_after timestamptz NOT NULL
);

-- One row per accepted batch. A batch is identified by (gateway, boot id, seq) alone — ingest looks
-- it up by that prefix of the primary key under the gateway's advisory lock — and carries a digest of
-- its content, so a redelivery with other content (a replay with sentAt moved, a firmware re-using
-- sequence numbers) is a conflicting replay, never counted again. The primary key keeps sent_at
-- because a hypertable's unique indexes must hold its time column.
CREATE TABLE ingest_batches (
  gateway_id text NOT NULL,
  boot_id text NOT NULL,
  seq bigint NOT NULL,
  sent_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  sightings_count integer NOT NULL,
  content_digest bigint,
  PRIMARY KEY (gateway_id, boot_id, seq, sent_at)
);
-- 1 day chunks: ~100 gateways × one batch per 5 s is 1.7 M rows a day (city: 170 M) and the table is
-- only kept for duplicate detection, so chunks are dropped whole by the retention policy.
SELECT create_hypertable('ingest_batches', by_range('sent_at', INTERVAL '1 day'));
SELECT add_retention_policy('ingest_batches', drop_after => INTERVAL '3 days');

-- Sessions still in progress, one per (gateway, pseudonym). Rows move to transits in the same
-- transaction that closes them, so a crash never loses or splits a session. ie_fp (a keyed hash of a
-- randomised Wi-Fi probe's information-element ids under the day's key) and last_seq_num (its 802.11
-- sequence number) chain per-scan random MACs to one session (Wi-Fi de-randomisation); they live only
-- while the session is open and are never copied into transits.
CREATE TABLE open_transits (
  gateway_id text NOT NULL,
  pseudonym bigint NOT NULL,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  peak_rssi smallint NOT NULL,
  samples integer NOT NULL,
  radio text NOT NULL,
  randomised boolean NOT NULL,
  ie_fp bigint,
  last_seq_num smallint CHECK (last_seq_num BETWEEN 0 AND 4095),
  PRIMARY KEY (gateway_id, pseudonym)
);
CREATE INDEX open_transits_chain ON open_transits (gateway_id, ie_fp) WHERE ie_fp IS NOT NULL;

CREATE TABLE transits (
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  gateway_id text NOT NULL,
  zone_id text NOT NULL,
  shop_id text,
  -- Per-device pseudonym, nulled by the privacy retention job within 48 h.
  pseudonym bigint,
  dwell_s real NOT NULL,
  peak_rssi smallint NOT NULL,
  samples integer NOT NULL,
  radio text NOT NULL,
  randomised boolean NOT NULL,
  -- miglio_is_visitor() with the gateway's thresholds of threshold_version (ingest's classify()).
  visitor boolean NOT NULL,
  threshold_version integer NOT NULL,
  calibration_factor real NOT NULL DEFAULT 1,
  calibration_version integer NOT NULL DEFAULT 1
);
-- 1 day chunks: a district (~100 gateways) writes ~0.5–2 M transits a day, a city (~10 000
-- gateways) 50–200 M; daily chunks keep the hot chunk's indexes in memory and make compression and
-- retention act on whole days.
SELECT create_hypertable('transits', by_range('first_seen', INTERVAL '1 day'));
CREATE INDEX transits_zone_time ON transits (zone_id, first_seen DESC);
CREATE UNIQUE INDEX transits_once ON transits (gateway_id, pseudonym, first_seen);
-- Columnar compression, segmented by gateway (every footfall query filters or groups by gateway or
-- zone) and ordered by time, after 4 days: once late data and the 48 h pseudonym retention have
-- settled (the retention job's UPDATE works on the last 3 days and would decompress what it touched).
ALTER TABLE transits SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'gateway_id',
  timescaledb.compress_orderby = 'first_seen DESC'
);
SELECT add_compression_policy('transits', compress_after => INTERVAL '4 days');
-- 400 days (pseudonyms are nulled within 48 h). A manual refresh_continuous_aggregate must never
-- reach past this: refreshing a range whose raw rows were dropped deletes its buckets.
SELECT add_retention_policy('transits', drop_after => INTERVAL '400 days');

CREATE TABLE gateway_state (
  gateway_id text PRIMARY KEY,
  state text NOT NULL DEFAULT 'unknown' CHECK (state IN ('online', 'offline', 'unknown')),
  fw text,
  uptime_s integer,
  queue integer,
  status_at timestamptz,
  -- Wall-clock time of the last accepted batch, and the newest sighting time it carried (event time).
  last_batch_at timestamptz,
  watermark timestamptz,
  boot_id text,
  last_seq bigint,
  seq_gaps bigint NOT NULL DEFAULT 0,
  clock_skew_ms integer
);

-- Devices learned as static at a gateway (shop PCs, speakers, staff phones: heard without a break for
-- hours), so their sightings are not counted as pedestrians. Pseudonyms change every local day, so a
-- row is only meaningful for its day; rows are deleted after 44 h with the other pseudonyms.
CREATE TABLE static_devices (
  gateway_id text NOT NULL,
  pseudonym bigint NOT NULL,
  marked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway_id, pseudonym)
);
CREATE INDEX static_devices_marked_at ON static_devices (marked_at);

CREATE TABLE dead_letters (
  received_at timestamptz NOT NULL DEFAULT now(),
  topic text NOT NULL,
  gateway_id text,
  reason text NOT NULL,
  detail text NOT NULL,
  payload_bytes integer NOT NULL,
  -- The payload with every MAC-looking token replaced by xx:xx:xx:xx:xx:xx, cut to 4 KiB.
  payload_redacted text NOT NULL
);
SELECT create_hypertable('dead_letters', by_range('received_at', INTERVAL '7 days'));
SELECT add_retention_policy('dead_letters', drop_after => INTERVAL '30 days');

------------------------------------------------------------------------------------------------------
-- API: keys (only a SHA-256 of each key is stored; the key is shown once), events and campaigns
-- whose uplift the API measures, and the demo backfill ledger of `miglio start`.
------------------------------------------------------------------------------------------------------

CREATE TABLE api_keys (
  id text PRIMARY KEY,
  key_hash bytea NOT NULL UNIQUE,
  role text NOT NULL CHECK (role IN ('admin', 'analyst', 'shopkeeper')),
  shop_id text REFERENCES shops (id),
  label text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  CHECK ((role = 'shopkeeper') = (shop_id IS NOT NULL))
);

-- Zones are an array checked by the API (district reloads never delete zones).
CREATE TABLE events (
  id text PRIMARY KEY,
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 120),
  zone_ids text[] NOT NULL CHECK (cardinality(zone_ids) BETWEEN 1 AND 64),
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  -- The API key that created it (kept when the key is revoked).
  created_by text REFERENCES api_keys (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_at > starts_at)
);
CREATE INDEX events_window ON events (starts_at, ends_at);

-- `miglio start` publishes the demo simulator's backfill once per database and demo district: the
-- row is claimed before the first past message is published, so a restart — even after an
-- interrupted backfill (finished_at null) — resumes live traffic only and never counts the same past
-- hours twice.
CREATE TABLE demo_backfill (
  district_id text PRIMARY KEY,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  from_ts timestamptz NOT NULL,
  to_ts timestamptz NOT NULL,
  finished_at timestamptz,
  CHECK (to_ts > from_ts)
);

------------------------------------------------------------------------------------------------------
-- Metric rules: the SQL side of rules the TypeScript code also applies. Each has one definition
-- here and one in TypeScript, and services/shared/db/metric-rules.int.test.ts runs both over the
-- same generated cases (docs/architecture.md, "One home for each metric rule").
------------------------------------------------------------------------------------------------------

-- Visitor or passer-by (services/ingest/sessionise.ts classify()): a visitor needs a shop to visit,
-- a peak RSSI of at least min_rssi and a dwell (last seen − first seen, seconds) of at least
-- min_dwell_s.
CREATE FUNCTION miglio_is_visitor(in_shop boolean, peak_rssi integer, dwell_s double precision,
                                  min_rssi integer, min_dwell_s double precision)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN in_shop AND peak_rssi >= min_rssi AND dwell_s >= min_dwell_s;

-- visitors / (visitors + passers-by), null without transits (services/api/lib/measures.ts captureRate()).
CREATE FUNCTION miglio_capture_rate(passers_by numeric, visitors numeric)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN passers_by + visitors > 0
            THEN visitors::double precision / (passers_by + visitors)::double precision END;

-- Visitors' mean dwell in seconds, null without visitors (measures.ts dwellMean()).
CREATE FUNCTION miglio_dwell_mean(dwell_s_sum double precision, visitors numeric)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN visitors > 0 THEN dwell_s_sum / visitors::double precision END;

-- Settings shared by the API and the SQL views. flows_k is the k of k-suppression: the API applies
-- its API_FLOWS_K and publishes it here when it starts (services/shared/db/settings.ts), so the
-- Grafana views suppress the same cells; 5 until an API has started.
CREATE TABLE miglio_settings (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  flows_k integer NOT NULL DEFAULT 5 CHECK (flows_k BETWEEN 1 AND 1000)
);
INSERT INTO miglio_settings DEFAULT VALUES;

CREATE FUNCTION miglio_flows_k() RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce((SELECT flows_k FROM miglio_settings), 5);

-- A published cell of fewer than k devices is suppressed (the API's flows and the views).
CREATE FUNCTION miglio_k_suppressed(devices bigint, k integer)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN devices < k;

-- The district's time zone: local days of flows_daily, footfall_1d and the privacy retention. One
-- database serves one zone (the loader refuses districts of two zones); null before any district.
CREATE FUNCTION miglio_local_zone() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
RETURN (SELECT timezone FROM districts ORDER BY loaded_at DESC, id LIMIT 1);

------------------------------------------------------------------------------------------------------
-- Footfall aggregates: per gateway (hence zone and shop), 15 min → 1 h → 1 local day, hierarchical
-- continuous aggregates with estimated people (the transits' calibration factors summed). Created
-- WITH NO DATA (the migrator runs in a transaction; refresh policies fill them) and real-time
-- (materialized_only = false), so the newest minutes are visible before the next refresh.
-- Compressed, segmented by gateway like the transits, once each refresh window has passed (never
-- what a refresh may still rewrite); kept 2 years (15 min), 5 years (1 h) and for good (1 day).
------------------------------------------------------------------------------------------------------

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

SELECT add_continuous_aggregate_policy('footfall_15m',
  start_offset => INTERVAL '3 days', end_offset => INTERVAL '15 minutes',
  schedule_interval => INTERVAL '1 minute');
SELECT add_continuous_aggregate_policy('footfall_1h',
  start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour',
  schedule_interval => INTERVAL '5 minutes');
ALTER MATERIALIZED VIEW footfall_15m SET (timescaledb.compress = true, timescaledb.compress_segmentby = 'gateway_id');
ALTER MATERIALIZED VIEW footfall_1h SET (timescaledb.compress = true, timescaledb.compress_segmentby = 'gateway_id');
SELECT add_compression_policy('footfall_15m', compress_after => INTERVAL '7 days');
SELECT add_compression_policy('footfall_1h', compress_after => INTERVAL '30 days');
SELECT add_retention_policy('footfall_15m', drop_after => INTERVAL '2 years');
SELECT add_retention_policy('footfall_1h', drop_after => INTERVAL '5 years');

-- The zone footfall_1d buckets its days in (a continuous aggregate's time zone is a constant of its
-- definition), and whether its refill from footfall_1h after the last (re)creation finished. One row,
-- written by miglio_ensure_daily_aggregate() and the district loader.
CREATE TABLE footfall_1d_zone (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  timezone text NOT NULL,
  refilled boolean NOT NULL DEFAULT false
);

-- Creates footfall_1d for the local days of `tz`, or recreates it when it was made for another zone
-- (then it is empty: the caller refreshes it over all time, outside any transaction, to rebuild its
-- days from footfall_1h — kept 5 years, so a zone change loses daily rows older than that — and then
-- sets footfall_1d_zone.refilled). Returns whether footfall_1d needs that refill: just (re)created, or
-- a refill that did not finish (the process stopped between the commit and the refresh). Raises for
-- a zone PostgreSQL does not know. Called by the district loader with the district's zone; the
-- baseline creates it in UTC until a district is loaded.
CREATE FUNCTION miglio_ensure_daily_aggregate(tz text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  current_zone text;
  current_refilled boolean;
BEGIN
  PERFORM now() AT TIME ZONE tz; -- "time zone … not recognized" before anything is dropped
  -- Two loaders at once: the second waits for the first to commit, then finds the zone in place.
  PERFORM pg_advisory_xact_lock(hashtext('miglio-ddl:footfall_1d'));
  SELECT timezone, refilled INTO current_zone, current_refilled FROM footfall_1d_zone;
  IF current_zone = tz AND to_regclass('footfall_1d') IS NOT NULL THEN
    RETURN NOT current_refilled;
  END IF;
  -- Dynamic, like the CREATE: the embedded TimescaleDB (2.23) rewrites a cached DROP statement, and
  -- the second run of a cached one fails with "cannot drop continuous aggregate using DROP VIEW".
  EXECUTE 'DROP MATERIALIZED VIEW IF EXISTS footfall_1d';
  EXECUTE format($view$
    CREATE MATERIALIZED VIEW footfall_1d
    WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT
      time_bucket(INTERVAL '1 day', bucket, %L) AS bucket,
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
    WITH NO DATA$view$, tz);
  PERFORM add_continuous_aggregate_policy('footfall_1d',
    start_offset => INTERVAL '30 days', end_offset => INTERVAL '1 day',
    schedule_interval => INTERVAL '1 hour');
  ALTER MATERIALIZED VIEW footfall_1d SET (timescaledb.compress = true, timescaledb.compress_segmentby = 'gateway_id');
  PERFORM add_compression_policy('footfall_1d', compress_after => INTERVAL '90 days');
  INSERT INTO footfall_1d_zone (id, timezone, refilled) VALUES (true, tz, false)
  ON CONFLICT (id) DO UPDATE SET timezone = excluded.timezone, refilled = false;
  RETURN true;
END
$$;

SELECT miglio_ensure_daily_aggregate('UTC');

------------------------------------------------------------------------------------------------------
-- Flows and privacy retention: two TimescaleDB jobs of Miglio's own. Both read the local zone from
-- the districts table when they run (miglio_local_zone()) and take an advisory lock of their own
-- first, so a run started by hand (`CALL run_job`) while the scheduler runs the same job waits and
-- then recomputes the same window (both are idempotent).
------------------------------------------------------------------------------------------------------

CREATE TABLE flows_hourly (
  bucket timestamptz NOT NULL,
  origin_zone_id text NOT NULL,
  dest_zone_id text NOT NULL,
  flows integer NOT NULL,
  travel_s_p25 real NOT NULL,
  travel_s_median real NOT NULL,
  travel_s_p75 real NOT NULL,
  PRIMARY KEY (origin_zone_id, dest_zone_id, bucket)
);
-- 30-day chunks: at most zones² × 24 rows an hour-day (16 zones: ~6 k a day; a city's 1 000 zones
-- with sparse pairs: a few million a month).
SELECT create_hypertable('flows_hourly', by_range('bucket', INTERVAL '30 days'));
SELECT add_retention_policy('flows_hourly', drop_after => INTERVAL '2 years');

-- Buckets are local midnights of the zone in force when the day was computed.
CREATE TABLE flows_daily (
  bucket timestamptz NOT NULL,
  origin_zone_id text NOT NULL,
  dest_zone_id text NOT NULL,
  flows integer NOT NULL,
  travel_s_p25 real NOT NULL,
  travel_s_median real NOT NULL,
  travel_s_p75 real NOT NULL,
  PRIMARY KEY (origin_zone_id, dest_zone_id, bucket)
);
SELECT create_hypertable('flows_daily', by_range('bucket', INTERVAL '365 days'));

-- How far pseudonyms have been forgotten: every transit that started before done_before was visited.
CREATE TABLE forget_progress (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  done_before timestamptz NOT NULL
);

-- How far flows are final: every hour before done_until has been computed.
CREATE TABLE flow_progress (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  done_until timestamptz NOT NULL
);

-- Recomputes flows for the hours in [done_until − lookback, now − settle) (whole hours), so that
-- transits closing late (long visits, idle gateways) still count, and rebuilds the daily rows of the
-- local days touched. A flow A→B is a pair of consecutive transits of one pseudonym on one local day
-- in two different zones; it belongs to the hour B started; travel time is B.first_seen − A.last_seen
-- (0 when the two gateways heard the device at once). Without a district there is nothing to pair.
CREATE PROCEDURE miglio_compute_flows(job_id integer, config jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  tz text;
  settle interval := coalesce((config ->> 'settle')::interval, INTERVAL '30 minutes');
  lookback interval := coalesce((config ->> 'lookback')::interval, INTERVAL '5 hours');
  win_to timestamptz := date_trunc('hour', now() - settle);
  done timestamptz;
  win_from timestamptz;
  scan_from timestamptz;
BEGIN
  -- One run at a time: a second one waits, then recomputes the same window.
  PERFORM pg_advisory_xact_lock(hashtext('miglio-job:compute_flows'));
  tz := miglio_local_zone();
  IF tz IS NULL THEN
    RETURN;
  END IF;
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

-- Nulls the pseudonyms of transits whose local day's flows are final (the day ended at least
-- `lookback` before flow_progress.done_until), and of every transit older than 44 h whatever the
-- flows job's progress: no table keeps a per-device pseudonym for more than 48 h. Sessions still open
-- after 44 h (ingest down for two days) are written as transits without a pseudonym, classified by
-- miglio_is_visitor() with the gateway's latest thresholds.
--
-- It also moves those sessions out of open_transits, which ingest reads and writes under each
-- gateway's advisory lock (`hashtext('miglio-gw:' || gateway_id)`, taken in lock-key order): it takes
-- the same locks first, the same way, so it cannot delete a session ingest is about to write back.
CREATE PROCEDURE miglio_forget_pseudonyms(job_id integer, config jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  tz text;
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
  tz := miglio_local_zone();
  SELECT done_until INTO done FROM flow_progress;
  IF done IS NOT NULL AND tz IS NOT NULL THEN
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
         miglio_is_visitor(g.shop_id IS NOT NULL, o.peak_rssi,
                           extract(epoch FROM o.last_seen - o.first_seen)::float8, t.min_rssi, t.min_dwell_s),
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

SELECT add_job('miglio_compute_flows', INTERVAL '5 minutes',
  config => '{"settle": "30 minutes", "lookback": "5 hours"}');
SELECT add_job('miglio_forget_pseudonyms', INTERVAL '15 minutes',
  config => '{"lookback": "5 hours", "max_age": "44 hours"}');

------------------------------------------------------------------------------------------------------
-- Grafana views: a small, stable set for Grafana or a BI tool pointed at the database
-- (docs/grafana.md). Their columns are a contract: change them only by adding columns or new views.
-- They use the metric rules above, so they agree with the API (k: miglio_settings.flows_k).
------------------------------------------------------------------------------------------------------

CREATE VIEW v_footfall_zone_15m AS
SELECT f.bucket,
       f.zone_id,
       z.name AS zone_name,
       z.kind AS zone_kind,
       sum(f.passers_by)::bigint AS passers_by,
       sum(f.visitors)::bigint AS visitors,
       miglio_capture_rate(sum(f.passers_by), sum(f.visitors)) AS capture_rate,
       sum(f.estimated_people)::float8 AS estimated_people,
       miglio_dwell_mean(sum(f.dwell_s_sum), sum(f.visitors)) AS dwell_mean_s
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
       miglio_capture_rate(sum(f.passers_by), sum(f.visitors)) AS capture_rate,
       sum(f.estimated_people)::float8 AS estimated_people,
       miglio_dwell_mean(sum(f.dwell_s_sum), sum(f.visitors)) AS dwell_mean_s
FROM footfall_1h f
JOIN zones z ON z.id = f.zone_id
GROUP BY f.bucket, f.zone_id, z.name, z.kind;

CREATE VIEW v_flows_hourly AS
SELECT f.bucket,
       f.origin_zone_id,
       o.name AS origin_zone_name,
       f.dest_zone_id,
       d.name AS dest_zone_name,
       CASE WHEN NOT miglio_k_suppressed(f.flows, k.k) THEN f.flows END AS flows,
       CASE WHEN NOT miglio_k_suppressed(f.flows, k.k) THEN f.travel_s_median END AS travel_s_median,
       miglio_k_suppressed(f.flows, k.k) AS suppressed
FROM flows_hourly f
CROSS JOIN (SELECT miglio_flows_k() AS k) k
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
