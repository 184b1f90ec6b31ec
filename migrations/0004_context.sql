-- Intent: context for the footfall (issue #17): series imported from CSV files (weather such as
-- rain_mm and temperature_c, markets, roadworks; contracts/context-csv.ts), drawn over the time
-- series, and the local days a user flags to keep out of baselines and forecasts (a strike, a
-- gateway outage, a one-off fair). Nothing here is fetched from the internet: every row comes from
-- an import or a user. Reversible: drop the three tables (the imported context and the flags are
-- lost; no other table refers to them).

-- One import (a file from `miglio context import` or a body of POST /api/v1/context/imports): its
-- values are written in the import's transaction, all or none. Deleting an import deletes the
-- values it last wrote.
CREATE TABLE context_imports (
  id text PRIMARY KEY,
  -- The file's name, or "api".
  source text NOT NULL CHECK (char_length(source) BETWEEN 1 AND 200),
  rows integer NOT NULL CHECK (rows >= 0),
  -- The API key that imported it (kept when the key is revoked); null from the CLI.
  imported_by text REFERENCES api_keys (id),
  imported_at timestamptz NOT NULL DEFAULT now()
);

-- One value of one variable at one time (or for one whole local day of the district), for the
-- whole district (zone_id null) or one zone. A variable holds numbers (0/1 flags included) or
-- text. Importing a (variable, zone, time) again replaces its value. A few variables per hour for
-- years stay in the tens of thousands of rows a year: a plain table.
CREATE TABLE context_values (
  at timestamptz NOT NULL,
  whole_day boolean NOT NULL,
  zone_id text,
  variable text NOT NULL CHECK (variable ~ '^[a-z][a-z0-9_]{0,39}$'),
  value_num double precision,
  value_text text CHECK (char_length(value_text) BETWEEN 1 AND 200),
  import_id text NOT NULL REFERENCES context_imports (id) ON DELETE CASCADE,
  CHECK ((value_num IS NULL) <> (value_text IS NULL))
);
CREATE UNIQUE INDEX context_values_key
  ON context_values (variable, zone_id, at, whole_day) NULLS NOT DISTINCT;
CREATE INDEX context_values_at ON context_values (at);
CREATE INDEX context_values_import ON context_values (import_id);

-- Local days (the district's zone) a user flagged to be left out of baselines and forecasts, for
-- the whole district (zone_id null) or one zone, with the reason.
CREATE TABLE excluded_days (
  id text PRIMARY KEY,
  day date NOT NULL,
  zone_id text,
  reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 200),
  created_by text REFERENCES api_keys (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX excluded_days_key ON excluded_days (day, zone_id) NULLS NOT DISTINCT;
