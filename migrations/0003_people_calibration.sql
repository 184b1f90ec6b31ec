-- Intent: devices are not people (issue #16). A district calibrates each gateway from manual counts:
-- counting sessions (who counted how many people, in which zone and window) are recorded, and a
-- calibration (devices → people, fitted by services/shared/people/calibration.ts) is stored as a
-- version per gateway with its fit quality, applied forward only from its fit time, never to the
-- past. A fit refused (too few sessions, nobody counted…) is kept with its reason.
-- Reversible: drop the three tables and the two functions (the counts and versions are lost).

-- A manual count. kind: 'present' (the mean number of people in the zone over the window), 'in'
-- (people who entered or arrived during the window), 'out' (people who left). The boundary (zod)
-- refuses the same things with the same reasons; these constraints hold whatever writes the row.
CREATE TABLE count_sessions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  zone_id text NOT NULL REFERENCES zones (id),
  -- The gateway the count is meant for; null: every gateway of the zone.
  gateway_id text REFERENCES gateways (id),
  window_from timestamptz NOT NULL,
  window_to timestamptz NOT NULL,
  kind text NOT NULL CHECK (kind IN ('present', 'in', 'out')),
  people double precision NOT NULL,
  counted_by text NOT NULL,
  note text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT count_sessions_people_not_negative CHECK (people >= 0 AND people < 1000000),
  -- A mean of people present may be fractional; people counted in or out are whole.
  CONSTRAINT count_sessions_whole_in_out CHECK (kind = 'present' OR people = trunc(people)),
  CONSTRAINT count_sessions_window_order CHECK (window_to > window_from),
  CONSTRAINT count_sessions_window_length CHECK (window_to - window_from <= INTERVAL '1 day'),
  -- Counted, so over: a window may not end in the future (a minute of clock skew allowed).
  CONSTRAINT count_sessions_not_future CHECK (window_to <= created_at + INTERVAL '1 minute'),
  CONSTRAINT count_sessions_counted_by CHECK (length(btrim(counted_by)) BETWEEN 1 AND 120),
  CONSTRAINT count_sessions_note CHECK (note IS NULL OR length(note) <= 1000)
);
CREATE INDEX count_sessions_zone_time ON count_sessions (zone_id, window_from);

-- What one constraint cannot say: a gateway named by a session belongs to its zone, and two
-- sessions of one zone and kind whose windows overlap agree (the same number of people; the very
-- same count twice is a duplicate). Serialised per zone by an advisory lock, so two concurrent
-- inserts cannot both pass. Errors carry SQLSTATE 23514 (check_violation) and the reason.
CREATE FUNCTION miglio_count_session_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  other record;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('count_sessions:' || NEW.zone_id));
  IF NEW.gateway_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM gateways g WHERE g.id = NEW.gateway_id AND g.zone_id = NEW.zone_id
  ) THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation',
      MESSAGE = format('gateway %s is not in zone %s', NEW.gateway_id, NEW.zone_id);
  END IF;
  SELECT s.id, s.people, s.window_from, s.window_to INTO other
  FROM count_sessions s
  WHERE s.zone_id = NEW.zone_id AND s.kind = NEW.kind
    AND s.window_from < NEW.window_to AND NEW.window_from < s.window_to
    AND (s.people <> NEW.people
         OR (s.window_from = NEW.window_from AND s.window_to = NEW.window_to))
  ORDER BY s.window_from
  LIMIT 1;
  IF FOUND THEN
    IF other.people <> NEW.people THEN
      RAISE EXCEPTION USING ERRCODE = 'check_violation',
        MESSAGE = format('overlaps count session %s of the same zone and kind, which counted %s people, not %s',
                         other.id, other.people, NEW.people);
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'check_violation',
      MESSAGE = format('the same count is already recorded (count session %s)', other.id);
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER count_sessions_check BEFORE INSERT ON count_sessions
  FOR EACH ROW EXECUTE FUNCTION miglio_count_session_check();

-- A calibration version of one gateway: the fitted model (CalibrationModel as JSON) and its
-- held-out quality. valid_from is its fit time: it applies to what is estimated from then on, never
-- to the past (the trigger refuses a valid_from before the inserting statement's time).
-- superseded_by is the version that replaced it.
CREATE TABLE calibration_versions (
  gateway_id text NOT NULL REFERENCES gateways (id),
  version integer NOT NULL CHECK (version >= 1),
  zone_id text NOT NULL REFERENCES zones (id),
  fitted_at timestamptz NOT NULL DEFAULT now(),
  valid_from timestamptz NOT NULL DEFAULT now(),
  model jsonb NOT NULL,
  -- Held-out quality (of people present when fitted, else of arrivals).
  mae_people double precision NOT NULL CHECK (mae_people >= 0),
  -- Null when no session counted 3 people or more.
  mape_pct double precision CHECK (mape_pct >= 0),
  coverage_pct double precision NOT NULL CHECK (coverage_pct BETWEEN 0 AND 100),
  sessions_used integer NOT NULL CHECK (sessions_used >= 1),
  superseded_by integer,
  PRIMARY KEY (gateway_id, version),
  CONSTRAINT calibration_versions_forward CHECK (valid_from >= fitted_at),
  CONSTRAINT calibration_versions_superseded CHECK (superseded_by IS NULL OR superseded_by > version)
);
CREATE INDEX calibration_versions_valid ON calibration_versions (gateway_id, valid_from DESC);

CREATE FUNCTION miglio_calibration_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.valid_from < statement_timestamp() - INTERVAL '1 second' THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation',
      MESSAGE = 'a calibration applies forward only: valid_from may not be in the past';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER calibration_versions_forward BEFORE INSERT ON calibration_versions
  FOR EACH ROW EXECUTE FUNCTION miglio_calibration_forward_only();

-- The last fit of a gateway that was not applied, and why (too few sessions, nobody counted…);
-- cleared by the next applied version.
CREATE TABLE calibration_refusals (
  gateway_id text PRIMARY KEY REFERENCES gateways (id),
  zone_id text NOT NULL REFERENCES zones (id),
  attempted_at timestamptz NOT NULL DEFAULT now(),
  sessions integer NOT NULL CHECK (sessions >= 0),
  reason text NOT NULL
);
