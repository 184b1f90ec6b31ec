-- Intent: columnar compression of closed transits, segmented by gateway (every footfall query
-- filters or groups by gateway/zone) and ordered by time. Chunks are compressed after 3 days, once
-- late data and the 48 h pseudonym retention have settled. Reversible with decompress_chunk.
ALTER TABLE transits SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'gateway_id',
  timescaledb.compress_orderby = 'first_seen DESC'
);
SELECT add_compression_policy('transits', compress_after => INTERVAL '3 days');
