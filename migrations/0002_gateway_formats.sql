-- Intent: gateways that shops can buy speak formats other than Miglio's native v1 (issue #14:
-- OpenMQTTGateway/Theengs, ESPresense, ESP32 probe sniffers, Cisco Meraki, Paxcounter). Each gateway
-- says which one it speaks and how its messages are recognised (the district file's `source`);
-- Paxcounter reports device counts, not devices; and messages of formats without a boot id and a
-- sequence number need another way to be recognised when the broker redelivers them.
-- Reversible: drop the two tables and the added columns (the counts and digests are lost).

-- The format a gateway speaks and its source as the district file states it, except a Meraki access
-- point's MAC, stored only as a digest: it is configuration, not personal data, but no table holds
-- anything MAC-shaped. source_key is unique among active gateways (contracts/district.ts
-- gatewaySourceKey, with the digest in place of the MAC).
ALTER TABLE gateways ADD COLUMN format text NOT NULL DEFAULT 'native'
  CHECK (format IN ('native', 'omg', 'espresense', 'sniffer', 'meraki', 'paxcounter'));
ALTER TABLE gateways ADD COLUMN source jsonb;
ALTER TABLE gateways ADD COLUMN source_key text;
CREATE UNIQUE INDEX gateways_source_key ON gateways (source_key)
  WHERE active AND source_key IS NOT NULL;

-- Wall-clock time of the last message of any kind from the gateway (health, whatever the format).
ALTER TABLE gateway_state ADD COLUMN last_message_at timestamptz;

-- Paxcounter: devices counted by the gateway itself, per report (no address leaves the device).
-- A count source, not transits: never added to footfall. Null where the report leaves a radio out.
CREATE TABLE device_counts (
  at timestamptz NOT NULL,
  gateway_id text NOT NULL,
  wifi integer CHECK (wifi >= 0),
  ble integer CHECK (ble >= 0)
);
-- 7-day chunks: one report per gateway every few minutes is a few thousand rows a day.
SELECT create_hypertable('device_counts', by_range('at', INTERVAL '7 days'));
CREATE INDEX device_counts_gateway_time ON device_counts (gateway_id, at DESC);
ALTER TABLE device_counts SET (timescaledb.compress, timescaledb.compress_segmentby = 'gateway_id');
SELECT add_compression_policy('device_counts', compress_after => INTERVAL '14 days');
SELECT add_retention_policy('device_counts', drop_after => INTERVAL '2 years');

-- Digests (64 bits of a SHA-256 of topic and payload) of messages of formats without a boot id and a
-- sequence number, committed in the last hours: a message the broker delivers again (MQTT's DUP
-- flag) whose digest is here was already counted. Kept only long enough to outlive a redelivery.
CREATE TABLE message_digests (
  received_at timestamptz NOT NULL,
  gateway_id text NOT NULL,
  digest bigint NOT NULL
);
SELECT create_hypertable('message_digests', by_range('received_at', INTERVAL '1 hour'));
CREATE INDEX message_digests_lookup ON message_digests (gateway_id, digest, received_at DESC);
SELECT add_retention_policy('message_digests', drop_after => INTERVAL '6 hours');
