import type { PseudoSighting } from './sessionise.ts'

/**
 * The session log's packed sightings (session_log.sightings): a batch's pseudonymised sightings as
 * the planner took them, so that replaying the log rebuilds a gateway's open sessions exactly.
 * Pseudonymised only — never a MAC — and deleted with every checkpoint (docs/architecture.md).
 *
 * Layout (big-endian): u8 format (1), u32 count, then per sighting: i64 pseudonym, f64 time (ms),
 * i16 RSSI, u8 flags (1 BLE, 2 randomised, 4 on the allow list, 8 has a sequence number, 16 has an
 * IE fingerprint), then u16 sequence number and i64 fingerprint when flagged. ~20 bytes a sighting.
 */
const FORMAT = 1
const BLE = 1
const RANDOMISED = 2
const EXEMPT = 4
const HAS_SEQ = 8
const HAS_FP = 16

/** A pseudonym or fingerprint (a decimal signed 64-bit integer) as a bigint; anything else throws. */
function int64(text: string, what: string): bigint {
  let n: bigint
  try {
    n = BigInt(text)
  } catch {
    throw new Error(`session log: ${what} is not a 64-bit integer`)
  }
  if (BigInt.asIntN(64, n) !== n) throw new Error(`session log: ${what} is not a 64-bit integer`)
  return n
}

export function packSightings(
  sightings: readonly PseudoSighting[],
  exempt: ReadonlySet<string>,
): Buffer {
  let size = 5
  for (const s of sightings)
    size += 19 + (s.seqNum !== undefined ? 2 : 0) + (s.fp !== undefined ? 8 : 0)
  const buf = Buffer.allocUnsafe(size)
  buf.writeUInt8(FORMAT, 0)
  buf.writeUInt32BE(sightings.length, 1)
  let o = 5
  for (const s of sightings) {
    o = buf.writeBigInt64BE(int64(s.pseudonym, 'a pseudonym'), o)
    o = buf.writeDoubleBE(s.tMs, o)
    o = buf.writeInt16BE(s.rssi, o)
    const flags =
      (s.radio === 'ble' ? BLE : 0) |
      (s.randomised ? RANDOMISED : 0) |
      (exempt.has(s.pseudonym) ? EXEMPT : 0) |
      (s.seqNum !== undefined ? HAS_SEQ : 0) |
      (s.fp !== undefined ? HAS_FP : 0)
    o = buf.writeUInt8(flags, o)
    if (s.seqNum !== undefined) o = buf.writeUInt16BE(s.seqNum, o)
    if (s.fp !== undefined) o = buf.writeBigInt64BE(int64(s.fp, 'a fingerprint'), o)
  }
  return buf
}

export function unpackSightings(buf: Buffer): {
  sightings: PseudoSighting[]
  exempt: Set<string>
} {
  if (buf.length < 5 || buf.readUInt8(0) !== FORMAT)
    throw new Error('session log: unknown packing (a newer ingest wrote it?)')
  const count = buf.readUInt32BE(1)
  const sightings: PseudoSighting[] = []
  const exempt = new Set<string>()
  let o = 5
  for (let i = 0; i < count; i++) {
    const pseudonym = buf.readBigInt64BE(o).toString()
    const tMs = buf.readDoubleBE(o + 8)
    const rssi = buf.readInt16BE(o + 16)
    const flags = buf.readUInt8(o + 18)
    o += 19
    const s: PseudoSighting = {
      pseudonym,
      tMs,
      rssi,
      radio: flags & BLE ? 'ble' : 'wifi',
      randomised: (flags & RANDOMISED) !== 0,
    }
    if (flags & HAS_SEQ) {
      s.seqNum = buf.readUInt16BE(o)
      o += 2
    }
    if (flags & HAS_FP) {
      s.fp = buf.readBigInt64BE(o).toString()
      o += 8
    }
    if (flags & EXEMPT) exempt.add(pseudonym)
    sightings.push(s)
  }
  if (o !== buf.length) throw new Error('session log: packed sightings have trailing bytes')
  return { sightings, exempt }
}
