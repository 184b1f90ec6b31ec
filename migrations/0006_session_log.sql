-- Intent: issue #15. Ingest stops reading and rewriting every open session it touches in each
-- transaction (the per-session round trip was its ceiling, docs/scaling.md). The process that commits
-- a gateway's batches keeps that gateway's open sessions in memory; each committed batch is written
-- to the session log (its pseudonymised sightings, packed) with the gateway's new session version;
-- every so often (INGEST_CHECKPOINT_MS) the open sessions are written to open_transits as a
-- checkpoint and the log up to it is deleted. Another process (or this one after a restart) sees a
-- session version it does not hold, under the gateway's lock, and rebuilds the sessions from the
-- checkpoint and the log after it. docs/architecture.md walks it through.
-- Reversible only with every ingest stopped after a checkpoint (open_transits complete, session_log
-- empty): drop session_log and the added columns, restore the 0001 procedure.
-- Upgrading: stop every ingest of the previous version before starting one of this version (an
-- older ingest writes open_transits without moving the session version).

-- The gateway's session version (batches applied to its sessions), and the version and watermark of
-- its last checkpoint (the sessions in open_transits stand for that version).
ALTER TABLE gateway_state
  ADD COLUMN session_version bigint NOT NULL DEFAULT 0,
  ADD COLUMN checkpoint_version bigint NOT NULL DEFAULT 0,
  ADD COLUMN checkpoint_watermark timestamptz;
-- What open_transits holds today is the checkpoint at version 0.
UPDATE gateway_state SET checkpoint_watermark = watermark;

-- The session log: one row per batch applied to a gateway's sessions since its last checkpoint, in
-- version order. `sightings` are the batch's pseudonymised sightings (ingest/session-log.ts), never a
-- MAC; rows are deleted by the gateway's next checkpoint (seconds), and by the privacy job after
-- 44 hours whatever happens.
CREATE TABLE session_log (
  gateway_id text NOT NULL,
  version bigint NOT NULL,
  sent_at timestamptz NOT NULL,
  sightings bytea NOT NULL,
  logged_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway_id, version)
);
CREATE INDEX session_log_logged_at ON session_log (logged_at);

-- The session version of the batch that learned a static device (NULL: learned before this
-- migration, part of every checkpoint): a rebuild takes those up to its checkpoint and relearns
-- the others by replaying the log.
ALTER TABLE static_devices ADD COLUMN learned_version bigint;

-- The privacy job (0001) also moves open sessions older than 44 hours out of open_transits: it now
-- moves the session version of the gateways it touches and deletes old log rows too.
CREATE OR REPLACE PROCEDURE miglio_forget_pseudonyms(job_id integer, config jsonb)
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
      SELECT DISTINCT hashtext('miglio-gw:' || gateway_id) AS k FROM (
        SELECT gateway_id FROM open_transits WHERE last_seen < hard_limit
        UNION ALL SELECT gateway_id FROM session_log WHERE logged_at < hard_limit) AS g
      ORDER BY k) AS ordered) AS locked;
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
  -- Ingest holds these gateways' sessions in memory, valid while their session version is unchanged:
  -- moving sessions out of the checkpoint changes it, so ingest rebuilds them from what is left.
  UPDATE gateway_state SET session_version = session_version + 1
  WHERE gateway_id IN (SELECT gateway_id FROM open_transits WHERE last_seen < hard_limit
                       UNION SELECT gateway_id FROM session_log WHERE logged_at < hard_limit);
  DELETE FROM open_transits WHERE last_seen < hard_limit;
  -- Log rows are deleted by every checkpoint; one this old belongs to a gateway no ingest has
  -- checkpointed for two days: its pseudonyms go all the same.
  DELETE FROM session_log WHERE logged_at < hard_limit;
  DELETE FROM static_devices WHERE marked_at < hard_limit;
END
$$;
