-- Intent: a batch is identified by (gateway, boot id, seq) alone, not by its sentAt, and carries a
-- digest of its content, so that a redelivery whose content differs (a replay with sentAt moved, a
-- firmware re-using sequence numbers) is recognised as a conflicting replay and never counted again.
-- Ingest looks batches up by (gateway_id, boot_id, seq), a prefix of the primary key, under the
-- gateway's advisory lock; the primary key keeps sent_at because a hypertable's unique indexes must
-- hold its time column. Rows written before this migration have no digest.
-- Reversible: dropping the column restores the previous shape.

ALTER TABLE ingest_batches ADD COLUMN content_digest bigint;
