-- Wi-Fi de-randomisation: phones probe with a fresh random MAC per scan, so one phone is a new
-- pseudonym every scan. Ingest chains a randomised probe to an open session at the same gateway with
-- the same information-element fingerprint whose 802.11 sequence number it continues (see
-- docs/architecture.md). The fingerprint is a keyed hash of the IE id list under the day's key (so it
-- means nothing once the key is destroyed); both columns live only while the session is open and are
-- never copied into transits.
ALTER TABLE open_transits
  ADD COLUMN ie_fp bigint,
  ADD COLUMN last_seq_num smallint CHECK (last_seq_num BETWEEN 0 AND 4095);

CREATE INDEX open_transits_chain ON open_transits (gateway_id, ie_fp) WHERE ie_fp IS NOT NULL;
