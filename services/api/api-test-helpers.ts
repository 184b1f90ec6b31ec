import { connect, createServer, type Socket } from 'node:net'
import { Writable } from 'node:stream'
import { expect } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import type { Db } from '../shared/db/create-db.ts'
import { createLogger, type Logger } from '../shared/logger.ts'
import {
  gatewaySourceKey,
  type DistrictFile,
  type GatewaySource,
} from '../shared/contracts/district.ts'
import { ErrorBodySchema } from '../shared/contracts/api.ts'
import type { Alert } from '../shared/contracts/alerts.ts'
import { tinyDistrict } from '../shared/testing/fixtures.ts'

/**
 * Helpers for the API's integration tests: a three-shop district, direct transit inserts and the
 * error-body check every test uses.
 */

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

/** Classic injection strings, sent to every parameter. */
export const INJECTIONS = [
  `' OR 1=1 --`,
  `"; DROP TABLE transits; --`,
  '%27',
  `1); DELETE FROM zones; --`,
]

/** tinyDistrict plus shop-two and shop-three, each an indoor gateway in its own zone. */
export function threeShopDistrict(): DistrictFile {
  const d = tinyDistrict()
  const [base, shopGateway] = [d.zones[1], d.gateways[1]]
  if (!base || !shopGateway) throw new Error('tinyDistrict changed: no shop zone or gateway')
  for (const [i, id] of ['shop-two', 'shop-three'].entries()) {
    d.zones.push({ ...base, id, name: id, streetFromM: 120 + i * 20, streetToM: 130 + i * 20 })
    d.shops.push({
      id,
      name: id,
      category: 'books',
      zoneId: id,
      streetOffsetM: 125 + i * 20,
    })
    d.gateways.push({ ...shopGateway, id: `gw-${id}`, zoneId: id, shopId: id })
  }
  return d
}

export type TransitFixture = {
  gateway: 'gw-street-a' | 'gw-shop-one' | 'gw-shop-two' | 'gw-shop-three'
  at: Date | string | number
  visitor?: boolean
  dwellS?: number
  calibrationFactor?: number
  calibrationVersion?: number
}

const ZONE_OF = {
  'gw-street-a': { zone_id: 'street-a', shop_id: null },
  'gw-shop-one': { zone_id: 'shop-one', shop_id: 'shop-one' },
  'gw-shop-two': { zone_id: 'shop-two', shop_id: 'shop-two' },
  'gw-shop-three': { zone_id: 'shop-three', shop_id: 'shop-three' },
} as const

let pseudonym = 1
/** Inserts closed transits directly (each its own pseudonym). */
export async function insertTransits(db: Db, fixtures: TransitFixture[]): Promise<void> {
  if (!fixtures.length) return
  await db
    .insertInto('transits')
    .values(
      fixtures.map((f) => {
        const first = new Date(f.at)
        const dwellS = f.dwellS ?? (f.visitor ? 120 : 10)
        return {
          gateway_id: f.gateway,
          ...ZONE_OF[f.gateway],
          first_seen: first,
          last_seen: new Date(first.getTime() + dwellS * 1000),
          pseudonym: pseudonym++,
          dwell_s: dwellS,
          peak_rssi: f.visitor ? -55 : -80,
          samples: 3,
          radio: 'wifi',
          randomised: false,
          visitor: f.visitor ?? false,
          threshold_version: 1,
          calibration_factor: f.calibrationFactor ?? 1,
          calibration_version: f.calibrationVersion ?? 1,
        }
      }),
    )
    .execute()
}

/**
 * Declares what a gateway speaks, as the district loader stores it (`format`, `source`,
 * `source_key`): the API's tests set it directly. Not for Meraki sources (the loader stores an AP
 * MAC only as a digest).
 */
export async function setGatewaySource(
  db: Db,
  gatewayId: string,
  source: Exclude<GatewaySource, { format: 'meraki' }>,
): Promise<void> {
  await db
    .updateTable('gateways')
    .set({
      format: source.format,
      source: JSON.stringify(source),
      source_key: gatewaySourceKey(source),
    })
    .where('id', '=', gatewayId)
    .execute()
}

export type DeviceCountFixture = {
  gateway: string
  at: Date | string
  wifi: number | null
  ble?: number | null
}

/** Inserts Paxcounter reports into `device_counts` directly. */
export async function insertDeviceCounts(db: Db, fixtures: DeviceCountFixture[]): Promise<void> {
  if (!fixtures.length) return
  await db
    .insertInto('device_counts')
    .values(
      fixtures.map((f) => ({
        gateway_id: f.gateway,
        at: new Date(f.at),
        wifi: f.wifi,
        ble: f.ble ?? null,
      })),
    )
    .execute()
}

/** `n` copies of a fixture. */
export const times = (n: number, f: TransitFixture): TransitFixture[] =>
  Array.from({ length: n }, () => ({ ...f }))

/** Every error body has the contract's shape, and a 5xx never leaks SQL or a stack. */
export function expectErrorBody(res: LightMyRequestResponse, status: number, code?: string) {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/application\/json/)
  const body = ErrorBodySchema.parse(res.json())
  if (code) expect(body.error.code).toBe(code)
  if (status >= 500) {
    expect(res.body).not.toContain('SELECT')
    expect(res.body).not.toMatch(/\bat /)
  }
  return body.error
}

/** Row counts of the tables an injection would hurt. */
export async function tableCounts(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const t of ['transits', 'zones', 'shops', 'api_keys', 'events'] as const) {
    const r = await db
      .selectFrom(t)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow()
    out[t] = Number(r.n)
  }
  return out
}

/** Parses RFC 4180 CSV (enough for the tests: quoted fields, doubled quotes, CRLF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i)
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
      i++
    } else field += c
  }
  if (field || row.length) rows.push([...row, field])
  return rows
}

/**
 * `db` with a counter of the statements that touch `table` (kysely builder queries; the table's
 * name appears in the operation tree): proof that something did or did not reach the database.
 */
export function countingDb(db: Db, table: string): { db: Db; count: () => number } {
  let n = 0
  const needle = `"name":"${table}"`
  return {
    db: db.withPlugin({
      transformQuery({ node }) {
        if (JSON.stringify(node).includes(needle)) n++
        return node
      },
      async transformResult({ result }) {
        return result
      },
    }),
    count: () => n,
  }
}

/** A logger whose JSON lines are kept in `lines` (parsed), for tests that check what is logged. */
export function capturingLogger(level = 'info'): {
  log: Logger
  lines: Record<string, unknown>[]
  text: () => string
} {
  const raw: string[] = []
  const log = createLogger({
    level,
    destination: new Writable({
      write(chunk: Buffer, _e, cb) {
        raw.push(chunk.toString())
        cb()
      },
    }),
  })
  return {
    log,
    get lines() {
      return raw.map((l) => JSON.parse(l) as Record<string, unknown>)
    },
    text: () => raw.join(''),
  }
}

/** A TCP proxy in front of the test broker whose replies a test can hold back, or cut. */
export type BrokerProxy = {
  /** The broker's URL with the proxy's address. */
  url: string
  /** Bytes from the broker wait in the proxy (a PUBACK that does not come) until released. */
  holdReplies(): void
  /** Delivers what was held, in order, and forwards again. */
  releaseReplies(): void
  /** Drops every connection and refuses new ones (a broker that is down)… */
  down(): void
  /** …until this. */
  up(): void
  close(): Promise<void>
}

export async function startBrokerProxy(targetUrl: string): Promise<BrokerProxy> {
  const target = new URL(targetUrl)
  let refusing = false
  let holding = false
  const held: { to: Socket; chunk: Buffer }[] = []
  const sockets = new Set<Socket>()
  const track = (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => s.destroy())
  }
  const server = createServer((client) => {
    track(client)
    if (refusing) {
      client.destroy()
      return
    }
    const upstream = connect(Number(target.port || 1883), target.hostname)
    track(upstream)
    client.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      if (holding) held.push({ to: client, chunk })
      else client.write(chunk)
    })
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  const url = new URL(target.toString())
  url.hostname = '127.0.0.1'
  url.port = String(typeof address === 'object' && address ? address.port : 0)
  return {
    url: url.toString(),
    holdReplies() {
      holding = true
    },
    releaseReplies() {
      holding = false
      for (const { to, chunk } of held.splice(0)) if (!to.destroyed) to.write(chunk)
    },
    down() {
      refusing = true
      for (const s of sockets) s.destroy()
    },
    up() {
      refusing = false
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** An alert as the API answers it (a silent gateway), with what a test changes. */
export function alertFixture(id: string, over: Partial<Alert> = {}): Alert {
  return {
    id,
    kind: 'gateway_silent',
    zoneId: 'z',
    shopId: null,
    gatewayId: 'gw-1',
    raisedAt: '2026-12-07T10:00:00.000Z',
    clearedAt: null,
    details: {},
    acknowledgedBy: null,
    acknowledgedAt: null,
    summary: 'gateway gw-1 silent for 16 minutes',
    ...over,
  }
}
