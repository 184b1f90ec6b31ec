import { sql } from 'kysely'
import type { Trx } from '../ingest-repository.ts'

/** How long message_digests keeps a digest (its retention policy, migrations/0002). */
export const MESSAGE_DIGEST_RETENTION_MS = 6 * 3_600_000

export type MessageDigest = { gatewayId: string; digest: string }

/**
 * The (gateway, digest) pairs among these that were committed since `since`: a redelivered message
 * (MQTT DUP) found here was counted already.
 */
export async function findCommittedDigests(
  trx: Trx,
  digests: readonly MessageDigest[],
  since: Date,
): Promise<Set<string>> {
  if (digests.length === 0) return new Set()
  const rows = await sql<{ gateway_id: string; digest: string }>`
    SELECT DISTINCT d.gateway_id, d.digest FROM message_digests d
    JOIN unnest(${digests.map((d) => d.gatewayId)}::text[], ${digests.map((d) => d.digest)}::bigint[]) AS u(g, h)
      ON d.gateway_id = u.g AND d.digest = u.h
    WHERE d.received_at >= ${since}`.execute(trx)
  return new Set(rows.rows.map((r) => digestKey(r.gateway_id, r.digest)))
}

export function digestKey(gatewayId: string, digest: string): string {
  return `${gatewayId}\u0000${digest}`
}

/** Records the digests of committed messages (in the transaction that commits their effect). */
export async function insertMessageDigests(
  trx: Trx,
  rows: readonly (MessageDigest & { receivedAt: Date })[],
): Promise<void> {
  if (rows.length === 0) return
  await sql`
    INSERT INTO message_digests (received_at, gateway_id, digest)
    SELECT * FROM unnest(
      ${rows.map((r) => r.receivedAt)}::timestamptz[],
      ${rows.map((r) => r.gatewayId)}::text[],
      ${rows.map((r) => r.digest)}::bigint[])`.execute(trx)
}

export type DeviceCountWrite = {
  gatewayId: string
  at: Date
  wifi: number | null
  ble: number | null
}

/** Paxcounter counts: a count source of their own, never transits. */
export async function insertDeviceCounts(
  trx: Trx,
  rows: readonly DeviceCountWrite[],
): Promise<void> {
  if (rows.length === 0) return
  await sql`
    INSERT INTO device_counts (at, gateway_id, wifi, ble)
    SELECT * FROM unnest(
      ${rows.map((r) => r.at)}::timestamptz[],
      ${rows.map((r) => r.gatewayId)}::text[],
      ${rows.map((r) => r.wifi)}::integer[],
      ${rows.map((r) => r.ble)}::integer[])`.execute(trx)
}

/** gateway_state.last_message_at: the newest message of any kind and format, never backwards. */
export async function touchGateways(
  trx: Trx,
  rows: readonly { gatewayId: string; at: Date }[],
): Promise<void> {
  const newest = new Map<string, number>()
  for (const r of rows)
    newest.set(r.gatewayId, Math.max(newest.get(r.gatewayId) ?? 0, r.at.getTime()))
  if (newest.size === 0) return
  await sql`
    INSERT INTO gateway_state AS s (gateway_id, last_message_at)
    SELECT * FROM unnest(${[...newest.keys()]}::text[],
                         ${[...newest.values()].map((t) => new Date(t))}::timestamptz[])
    ON CONFLICT (gateway_id) DO UPDATE SET
      last_message_at = greatest(s.last_message_at, excluded.last_message_at)`.execute(trx)
}
