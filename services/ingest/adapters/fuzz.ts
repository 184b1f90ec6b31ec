import { containsMac } from '../../shared/contracts/mac.ts'
import { seededRandom } from '../../shared/contracts/seeded-random.ts'
import type { AdapterResult } from './common.ts'

/**
 * Random mutations of golden payloads for the adapters' fuzz tests (test support): byte flips,
 * truncation, splices of hostile text, and — for JSON — leaves replaced by values of the wrong
 * type, MAC-looking strings, huge numbers. Seeded, so a failure replays.
 */
export const createRng = seededRandom

const HOSTILE: unknown[] = [
  'DE:AD:BE:EF:00:01',
  'dead.beef.0001',
  'deadbeef0001',
  '\u0000',
  '',
  Number.NEGATIVE_INFINITY,
  1e308,
  -0.5,
  -128,
  3,
  null,
  true,
  [],
  {},
  ['aa:bb:cc:dd:ee:ff'],
  { mac: 'aa-bb-cc-dd-ee-ff' },
  'x'.repeat(300),
  '2021-13-45T99:99:99Z',
  '1970-01-01T00:00:00Z',
]

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)] as T
}

function mutateJson(value: unknown, rng: () => number): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || rng() < 0.2) return pick(rng, HOSTILE)
    const i = Math.floor(rng() * value.length)
    const copy = [...value]
    copy[i] = mutateJson(copy[i], rng)
    return copy
  }
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value)
    if (keys.length === 0 || rng() < 0.15) return pick(rng, HOSTILE)
    const key = pick(rng, keys)
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) }
    if (rng() < 0.15) return Object.fromEntries(Object.entries(copy).filter(([k]) => k !== key))
    copy[key] = mutateJson(copy[key], rng)
    return copy
  }
  return rng() < 0.8 ? pick(rng, HOSTILE) : value
}

export function mutatePayload(bytes: Buffer, rng: () => number): Buffer {
  const text = bytes.toString('utf8')
  const roll = rng()
  if (roll < 0.5) {
    try {
      return Buffer.from(JSON.stringify(mutateJson(JSON.parse(text), rng)))
    } catch {
      // not JSON: fall through to byte-level mutations
    }
  }
  if (roll < 0.65) return bytes.subarray(0, Math.floor(rng() * bytes.length))
  if (roll < 0.8) {
    const out = Buffer.from(bytes)
    for (let i = 0; i < 1 + Math.floor(rng() * 4); i++)
      if (out.length > 0) out[Math.floor(rng() * out.length)] = Math.floor(rng() * 256)
    return out
  }
  const at = Math.floor(rng() * (text.length + 1))
  return Buffer.from(text.slice(0, at) + String(pick(rng, HOSTILE)) + text.slice(at))
}

/** A topic with one level replaced by something hostile (a MAC, a wildcard, nothing). */
export function mutateTopic(topic: string, rng: () => number): string {
  const parts = topic.split('/')
  const i = Math.floor(rng() * parts.length)
  parts[i] = pick(rng, ['AA:BB:CC:DD:EE:FF', 'aabbccddeeff', '+', '#', '', 'x'.repeat(80), 'ok'])
  return rng() < 0.1 ? `${parts.join('/')}/extra` : parts.join('/')
}

/** Texts of a result that must never quote an address: a reject's detail, an ignore's reason. */
export function quotedTexts(result: AdapterResult): string[] {
  if (!result.ok) return [result.detail]
  if (result.kind === 'ignored') return [result.why]
  if (result.kind === 'health') return [result.health.fw ?? '']
  return []
}

export function leaksMac(result: AdapterResult): boolean {
  return quotedTexts(result).some((t) => containsMac(t))
}
