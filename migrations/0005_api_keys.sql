-- Intent: API keys for the REST API and live feed. Only a SHA-256 of each key is stored; the key is
-- shown once at creation. Reversible (drop the table) at the cost of every issued key.
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
