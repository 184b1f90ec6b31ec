import { Counter, Gauge, Histogram, Registry } from 'prom-client'

export type IngestMetrics = ReturnType<typeof createIngestMetrics>

/** Prometheus metrics of one ingest service; labels carry reasons and kinds, never device data. */
export function createIngestMetrics(registry = new Registry()) {
  return {
    registry,
    received: new Counter({
      name: 'miglio_ingest_received_messages_total',
      help: 'MQTT messages received (before anything is decided about them)',
      registers: [registry],
    }),
    messages: new Counter({
      name: 'miglio_ingest_messages_total',
      help: 'MQTT messages handled, by kind and outcome',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    sightings: new Counter({
      name: 'miglio_ingest_sightings_total',
      help: 'Sightings in accepted batches',
      registers: [registry],
    }),
    filtered: new Counter({
      name: 'miglio_ingest_filtered_sightings_total',
      help: 'Sightings dropped by a filter, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    rejects: new Counter({
      name: 'miglio_ingest_rejects_total',
      help: 'Rejected messages (dead letters), by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    staticDevices: new Counter({
      name: 'miglio_ingest_static_devices_total',
      help: 'Devices learned as static at a gateway (heard without a break for hours) and excluded',
      registers: [registry],
    }),
    formatMessages: new Counter({
      name: 'miglio_ingest_format_messages_total',
      help: 'Messages of the gateway formats (omg, espresense, sniffer, meraki, paxcounter) committed or recognised as redelivered, by format and outcome (accepted, duplicate); rejects are in miglio_ingest_rejects_total',
      labelNames: ['format', 'outcome'] as const,
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'miglio_ingest_duplicate_batches_total',
      help: 'Redelivered batches recognised by gateway, boot id and seq and ignored',
      registers: [registry],
    }),
    transits: new Counter({
      name: 'miglio_ingest_transits_total',
      help: 'Transits closed and written, by class',
      labelNames: ['class'] as const,
      registers: [registry],
    }),
    dbRetries: new Counter({
      name: 'miglio_ingest_db_retries_total',
      help: 'Database writes retried (the message stays unacknowledged meanwhile)',
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: 'miglio_ingest_commit_seconds',
      help: 'Time to make one group of messages durable (one transaction)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    }),
    groupMessages: new Histogram({
      name: 'miglio_ingest_group_messages',
      help: 'Messages committed together in one transaction',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250],
      registers: [registry],
    }),
    memoEntries: new Gauge({
      name: 'miglio_ingest_pseudonym_memo_entries',
      help: 'Memoised pseudonyms held in memory (bounded; updated with maintenance)',
      registers: [registry],
    }),
    lateBatches: new Counter({
      name: 'miglio_ingest_late_batches_total',
      help: "Batches committed after their gateway's event time had passed them by more than the transit gap (committed out of order: their devices' passes are split)",
      registers: [registry],
    }),
    sessionRebuilds: new Counter({
      name: 'miglio_ingest_session_rebuilds_total',
      help: 'Gateways whose open sessions were rebuilt from checkpoint and log (another replica committed them, or a restart)',
      registers: [registry],
    }),
    openSessions: new Gauge({
      name: 'miglio_ingest_open_sessions',
      help: 'Open sessions held in memory (updated after each commit and with maintenance)',
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'miglio_ingest_unacknowledged_messages',
      help: 'Messages received but not yet durable (and so not acknowledged to the broker)',
      registers: [registry],
    }),
  }
}
