-- Intent: issue #17 part A. The district is told when its numbers leave their usual range, when a
-- gateway goes silent or its rate collapses, and when bad input is rising: alert records the API
-- lists, pushes on the live feed and lets users acknowledge. The district file's public holidays
-- (excluded from the expected ranges) and alert thresholds are stored with the district. The demo's
-- simulated history (`SIM_HISTORY`) is claimed once per database and records its progress here, so
-- the dashboard can say how much of it is written and a restart never writes it twice.
-- Reversible: drop the two tables and the two added columns (alerts and the history record are lost).

-- Local public holidays of the district file (`holidays: [{date | monthDay, name}]`), on top of the
-- Italian ones built into the code; and its alert thresholds (`alerts: {…}`, defaults in the code).
ALTER TABLE districts ADD COLUMN holidays jsonb NOT NULL DEFAULT '[]';
ALTER TABLE districts ADD COLUMN alert_rules jsonb NOT NULL DEFAULT '{}';

-- One alert from the moment it is raised until it clears (cleared_at) — at most one open alert per
-- kind and subject. Subjects are ids, never anything device-shaped; details hold the figures that
-- raised it (observed value, band, buckets, rates).
CREATE TABLE alerts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('zone_outside_band', 'shop_outside_band', 'gateway_silent',
                                     'gateway_rate_collapse', 'dead_letters_rising')),
  zone_id text,
  shop_id text,
  gateway_id text,
  raised_at timestamptz NOT NULL DEFAULT now(),
  cleared_at timestamptz,
  details jsonb NOT NULL DEFAULT '{}',
  -- The API key that acknowledged it (kept when the key is revoked).
  acknowledged_by text REFERENCES api_keys (id),
  acknowledged_at timestamptz,
  CHECK (cleared_at IS NULL OR cleared_at >= raised_at)
);
CREATE UNIQUE INDEX alerts_open_once
  ON alerts (kind, coalesce(zone_id, ''), coalesce(shop_id, ''), coalesce(gateway_id, ''))
  WHERE cleared_at IS NULL;
CREATE INDEX alerts_raised ON alerts (raised_at DESC);

-- The demo history of `miglio start`, claimed before the first day is written (one row per demo
-- district): days_done grows as days are written, newest first; finished_at is set at the end. A
-- later start finds the row and writes nothing (an interrupted history is not resumed: its days
-- would be written twice).
CREATE TABLE demo_history (
  district_id text PRIMARY KEY,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  from_ts timestamptz NOT NULL,
  to_ts timestamptz NOT NULL,
  days_total integer NOT NULL CHECK (days_total > 0),
  days_done integer NOT NULL DEFAULT 0,
  transits bigint NOT NULL DEFAULT 0,
  finished_at timestamptz,
  CHECK (to_ts > from_ts)
);
