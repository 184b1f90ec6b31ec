-- Intent: what ingest writes — daily pseudonymisation keys, batch idempotency records, open sessions,
-- closed transits (the long-lived fact table), gateway state and dead letters. Irreversible: dropping
-- these tables loses facts.

-- One random key per local day, shared by every ingest replica; deleted after the day plus a grace.
CREATE TABLE pseudonym_keys (
  day date PRIMARY KEY,
  key bytea NOT NULL CHECK (octet_length(key) = 32),
  destroy_after timestamptz NOT NULL
);

-- One row per accepted batch: (gateway, boot, seq, sent_at) makes QoS 1 redelivery harmless.
CREATE TABLE ingest_batches (
  gateway_id text NOT NULL,
  boot_id text NOT NULL,
  seq bigint NOT NULL,
  sent_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  sightings_count integer NOT NULL,
  PRIMARY KEY (gateway_id, boot_id, seq, sent_at)
);
-- 1 day chunks: ~100 gateways × one batch per 5 s is 1.7 M rows a day (city: 170 M) and the table is
-- only kept for duplicate detection, so chunks are dropped whole by the retention policy.
SELECT create_hypertable('ingest_batches', by_range('sent_at', INTERVAL '1 day'));
SELECT add_retention_policy('ingest_batches', drop_after => INTERVAL '3 days');

-- Sessions still in progress, one per (gateway, pseudonym). Rows move to transits in the same
-- transaction that closes them, so a crash never loses or splits a session.
CREATE TABLE open_transits (
  gateway_id text NOT NULL,
  pseudonym bigint NOT NULL,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  peak_rssi smallint NOT NULL,
  samples integer NOT NULL,
  radio text NOT NULL,
  randomised boolean NOT NULL,
  PRIMARY KEY (gateway_id, pseudonym)
);

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
  visitor boolean NOT NULL,
  threshold_version integer NOT NULL
);
-- 1 day chunks: a district (~100 gateways) writes ~0.5–2 M transits a day, a city (~10 000
-- gateways) 50–200 M; daily chunks keep the hot chunk's indexes in memory and make compression and
-- retention act on whole days.
SELECT create_hypertable('transits', by_range('first_seen', INTERVAL '1 day'));
CREATE INDEX transits_zone_time ON transits (zone_id, first_seen DESC);
CREATE UNIQUE INDEX transits_once ON transits (gateway_id, pseudonym, first_seen);

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
