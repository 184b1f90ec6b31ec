-- Intent: columnar compression of closed transits, segmented by gateway (every footfall query
-- filters or groups by gateway/zone) and ordered by time. Chunks are compressed after 4 days, once
-- late data and the 48 h pseudonym retention have settled (the retention job's UPDATE works on the
-- last 3 days and would decompress anything it touched). Reversible with decompress_chunk.
ALTER TABLE transits SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'gateway_id',
  timescaledb.compress_orderby = 'first_seen DESC'
);
SELECT add_compression_policy('transits', compress_after => INTERVAL '4 days');
