-- Intent: events and campaigns (a name, the zones they concern and a local time window) recorded by
-- analysts and admins, whose uplift the API measures against comparable days. Zones are an array
-- checked by the API (district reloads never delete zones). Reversible (drop the table) at the cost
-- of the events recorded.
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
