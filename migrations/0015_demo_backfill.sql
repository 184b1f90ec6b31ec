-- Intent: `miglio start` publishes the demo simulator's backfill (SIM_BACKFILL of past traffic) once
-- per database and demo district, not at every start: the row is claimed before the first message
-- of the backfill is published, so a restart — even after an interrupted backfill — resumes live
-- traffic only and never counts the same past hours twice. finished_at stays null when the backfill
-- was interrupted. Reversible (drop the table) at the cost of the next start backfilling again.
CREATE TABLE demo_backfill (
  district_id text PRIMARY KEY,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  from_ts timestamptz NOT NULL,
  to_ts timestamptz NOT NULL,
  finished_at timestamptz,
  CHECK (to_ts > from_ts)
);
