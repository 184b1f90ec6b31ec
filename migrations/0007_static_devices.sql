-- Intent: devices learned as static at a gateway (shop PCs, speakers, staff phones: heard without a
-- break for hours), so their sightings are not counted as pedestrians. Pseudonyms change every local
-- day, so a row is only meaningful for its day; rows are deleted after 48 h with the other pseudonyms.
-- Reversible (drop the table; devices are relearned).
CREATE TABLE static_devices (
  gateway_id text NOT NULL,
  pseudonym bigint NOT NULL,
  marked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway_id, pseudonym)
);
CREATE INDEX static_devices_marked_at ON static_devices (marked_at);
