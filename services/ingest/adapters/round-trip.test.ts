import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  DEFAULT_TIME_ZONE,
  parseDistrictFile,
  type DistrictFile,
} from '../../shared/contracts/district.ts'
import { toEpochMs, type SightingsBatch } from '../../shared/contracts/gateway-messages.ts'
import { buildSightingsTopic } from '../../shared/contracts/topics.ts'
import { createSimulation } from '../../../simulator/simulation.ts'
import { encodeBatchForSource, type FormatMessage } from '../../../simulator/formats/index.ts'
import { decodeMessage, type DecodedSighting } from '../decode-message.ts'
import type { AdapterResult } from './common.ts'
import { decodeEspresenseMessage } from './espresense.ts'
import { decodeMerakiPost } from './meraki.ts'
import { decodeOmgMessage } from './omg.ts'
import { decodePaxcounterMessage } from './paxcounter.ts'
import { createSourceResolver } from './resolve-source.ts'
import { decodeSnifferMessage } from './sniffer.ts'

/**
 * Simulator → format encoder → adapter gives the sightings the native decoder gives for the same
 * batch, wherever the format carries them; what a format cannot carry is asserted as lost.
 */
const SECRET = 'round-trip-secret'
const SOURCES = [
  { format: 'omg', name: 'OpenMQTTGateway_ESP32_BLE' },
  { format: 'espresense', room: 'corte_legrenzi' },
  { format: 'sniffer', topic: 'sniffers/mestre/ferretto' },
  { format: 'meraki', networkId: 'L_674976994152158449', apMac: 'A8:46:9D:27:56:63' },
  { format: 'paxcounter', deviceId: 'pax-palazzo', encoding: 'plain' },
] as const

let district: DistrictFile
let batchesByGateway: Map<string, SightingsBatch[]>

beforeAll(() => {
  const raw = JSON.parse(
    readFileSync(new URL('../../../simulator/districts/mestre.json', import.meta.url), 'utf8'),
  ) as { gateways: Array<Record<string, unknown>> }
  // The busiest gateways (indoor ones see few people in ten minutes) get the formats.
  SOURCES.forEach((source, i) => (raw.gateways[i]!.source = source))
  const parsed = parseDistrictFile(JSON.stringify(raw), 'mestre+formats', DEFAULT_TIME_ZONE)
  if (!parsed.ok) throw new Error(parsed.problem)
  district = parsed.district
  const fromMs = Date.parse('2026-11-21T10:00:00Z')
  const sim = createSimulation({
    district,
    seed: 7,
    fromMs,
    toMs: fromMs + 15 * 60_000,
    scenario: 'realistic',
    collectTruth: false,
  })
  batchesByGateway = new Map()
  for (const m of sim) {
    if (m.kind !== 'sightings') continue
    const list = batchesByGateway.get(m.gatewayId) ?? []
    list.push(JSON.parse(m.payload) as SightingsBatch)
    batchesByGateway.set(m.gatewayId, list)
  }
})

function gatewayOf(format: string) {
  const g = district.gateways.find((x) => x.source?.format === format)
  if (!g) throw new Error(`no ${format} gateway`)
  return g
}

/** What the native decoder makes of the batch: the reference every format is compared with. */
function nativeSightings(batch: SightingsBatch): DecodedSighting[] {
  const r = decodeMessage(
    buildSightingsTopic(batch.gatewayId),
    Buffer.from(JSON.stringify(batch)),
    toEpochMs(batch.sentAt),
  )
  if (!r.ok || r.kind !== 'sightings') throw new Error('native batch did not decode')
  return r.batch.sightings
}

function encode(gatewayId: string): Array<{ batch: SightingsBatch; messages: FormatMessage[] }> {
  const g = district.gateways.find((x) => x.id === gatewayId)!
  return (batchesByGateway.get(gatewayId) ?? []).map((batch) => ({
    batch,
    messages: encodeBatchForSource(batch, g.source, {
      timeZone: district.timezone,
      merakiSecret: SECRET,
    })!,
  }))
}

function decoded(results: AdapterResult[], gatewayId: string): DecodedSighting[] {
  const resolver = createSourceResolver(district)
  return results.flatMap((r) => {
    if (!r.ok || r.kind !== 'sightings')
      throw new Error(`expected sightings, got ${JSON.stringify(r)}`)
    return r.groups.flatMap((g) => {
      expect(resolver.resolve(g.source)).toBe(gatewayId)
      return g.sightings
    })
  })
}

const order = (a: DecodedSighting, b: DecodedSighting) =>
  a.tMs - b.tMs || a.mac.localeCompare(b.mac) || a.rssi - b.rssi
const withoutHints = ({ seqNum: _s, ie: _i, ...rest }: DecodedSighting) => rest

function mqtt(m: FormatMessage) {
  if (m.transport !== 'mqtt') throw new Error('expected an MQTT message')
  return m
}

describe('simulator formats round trip through the adapters', () => {
  it.each(['omg', 'espresense'] as const)(
    '%s: every BLE sighting, stamped at arrival; Wi-Fi is lost (BLE-only gateways)',
    (format) => {
      const g = gatewayOf(format)
      const decode = format === 'omg' ? decodeOmgMessage : decodeEspresenseMessage
      let wifi = 0
      let ble = 0
      for (const { batch, messages } of encode(g.id)) {
        const native = nativeSightings(batch)
        wifi += native.filter((s) => s.radio === 'wifi').length
        const expected = native.filter((s) => s.radio === 'ble').map(withoutHints)
        ble += expected.length
        const got = decoded(
          messages.map(mqtt).map((m) => decode(m.topic, Buffer.from(m.payload), m.simTimeMs)),
          g.id,
        )
        expect(got).toEqual(expected)
      }
      expect(ble).toBeGreaterThan(0)
      expect(wifi).toBeGreaterThan(0)
    },
  )

  it('sniffer: every Wi-Fi sighting with its sequence number and IE list; BLE is lost', () => {
    const g = gatewayOf('sniffer')
    let withHints = 0
    let ble = 0
    for (const { batch, messages } of encode(g.id)) {
      const native = nativeSightings(batch)
      ble += native.filter((s) => s.radio === 'ble').length
      const expected = native.filter((s) => s.radio === 'wifi')
      withHints += expected.filter((s) => s.seqNum !== undefined && s.ie !== undefined).length
      const got = decoded(
        messages.map(mqtt).map((m) =>
          decodeSnifferMessage(m.topic, Buffer.from(m.payload), m.simTimeMs, undefined, {
            timeZone: district.timezone,
          }),
        ),
        g.id,
      )
      expect(got).toEqual(expected)
    }
    expect(withHints).toBeGreaterThan(0)
    expect(ble).toBeGreaterThan(0)
  })

  it('meraki: every sighting of both radios at its time; the de-randomisation hints are lost', () => {
    const g = gatewayOf('meraki')
    let hintsLost = 0
    for (const { batch, messages } of encode(g.id)) {
      const native = nativeSightings(batch)
      hintsLost += native.filter((s) => s.seqNum !== undefined).length
      const got = decoded(
        messages.map((m) => {
          if (m.transport !== 'http') throw new Error('expected a POST')
          return decodeMerakiPost(
            { method: m.method, contentType: m.contentType },
            Buffer.from(m.body),
            m.simTimeMs,
            undefined,
            { secret: SECRET },
          )
        }),
        g.id,
      )
      expect(got.sort(order)).toEqual(native.map(withoutHints).sort(order))
    }
    expect(hintsLost).toBeGreaterThan(0)
  })

  it('paxcounter: counts of distinct addresses per radio, no sighting at all', () => {
    const g = gatewayOf('paxcounter')
    const resolver = createSourceResolver(district)
    let counted = 0
    for (const { batch, messages } of encode(g.id)) {
      const native = nativeSightings(batch)
      const distinct = (radio: string) =>
        new Set(native.filter((s) => s.radio === radio).map((s) => s.mac)).size
      expect(messages).toHaveLength(1)
      const m = mqtt(messages[0]!)
      const r = decodePaxcounterMessage(m.topic, Buffer.from(m.payload), m.simTimeMs, undefined, {
        encoding: 'plain',
      })
      if (!r.ok || r.kind !== 'counts') throw new Error(`expected counts, got ${JSON.stringify(r)}`)
      expect(resolver.resolve(r.source)).toBe(g.id)
      expect(r.counts).toEqual({ tMs: m.simTimeMs, wifi: distinct('wifi'), ble: distinct('ble') })
      counted += native.length
    }
    expect(counted).toBeGreaterThan(0)
  })
})
