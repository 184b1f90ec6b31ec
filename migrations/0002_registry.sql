-- Intent: the district registry (district, zones, shops, gateways, versioned visitor thresholds),
-- loaded from a district file. Reversible by dropping the tables while no facts reference them.
CREATE TABLE districts (
  id text PRIMARY KEY,
  name text NOT NULL,
  timezone text NOT NULL DEFAULT 'Europe/Rome',
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
