import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  MAX_PAYLOAD_BYTES,
  MAX_SIGHTINGS_PER_BATCH,
  SightingsBatchSchema,
  toEpochMs,
  type SightingsBatch,
} from '../services/shared/contracts/gateway-messages.ts'
import { replayShiftMs } from './replay-run.ts'
import {
  createCaptureBatcher,
  detectFormat,
  parseEsp32CsvHeader,
  parseEsp32CsvLine,
  parseJsonlBatchLine,
  readRecording,
  shiftBatch,
  type RecordedSighting,
} from './replay.ts'
import { parseCaptureTime, type SnifferHeader } from '../services/shared/contracts/sniffer-csv.ts'

// A few lines of ../shared/datasets/brno-probe-requests (position_1_2022-10-18.csv and -25.csv).
const HEADER =
  'datetime;dst;src;src_vendor;randomized;rssi;idx;seq_num;ch_freq;FCfield;ssid;dot11elt;oui;occupancy'
const ROWS = [
  '2022-10-18 10:53:42.597864;ff:ff:ff:ff:ff:ff;7e:fd:7a:e4:31:66;;1;-94;0;2187;2417;;SSID_56211587;[0, 1, 50, 3, 45, 127, 255, 221, 221, 221];[6130, 20722, 4120];0.0',
  '2022-10-18 10:53:46.270457;ff:ff:ff:ff:ff:ff;74:eb:80:f3:6f:13;Samsung Electronics Co.,Ltd;0;-92;2;4031;2417;;SSID_04762478;[0, 1, 50, 3, 45, 127, 221];[20722];0.0',
  '2022-10-18 14:45:42.130529;ff:ff:ff:ff:ff:ff;84:16:f9:f2:da:8b;TP-LINK TECHNOLOGIES CO.,LTD.;0;-88;12612;1515;2417;;;[0, 1, 50];[];0.0',
  '2022-10-25 14:39:46.226014;ff:ff:ff:ff:ff:ff;c0:b5:d7:4a:7c:be;CHONGQING FUGUI ELECTRONICS CO.,LTD.;0;-97;15666;413;2417;pw-mgt;SSID_56211587;[0, 1, 50, 45, 70, 127];[];3.0',
] as const
const TZ = 'Europe/Prague'
const BRNO = '../shared/datasets/brno-probe-requests'

function header(): SnifferHeader {
  const h = parseEsp32CsvHeader(HEADER)
  if (!h.ok) throw new Error(h.reason)
  return h.value
}

describe('ESP32 sniffer CSV', () => {
  it('reads the header by column name', () => {
    const h = header()
    expect(h.columns).toHaveLength(14)
    expect(Object.fromEntries(h.index)).toMatchObject({
      datetime: 0,
      src: 2,
      rssi: 5,
      seq_num: 7,
      dot11elt: 11,
    })
    const bad = parseEsp32CsvHeader('time;mac;signal')
    expect(bad).toEqual({
      ok: false,
      reason: expect.stringMatching(/missing columns datetime, src, rssi/),
    })
  })

  it('turns a row into a sighting: src, rssi, local datetime, seq_num and dot11elt', () => {
    expect(parseEsp32CsvLine(ROWS[0], header(), TZ)).toEqual({
      ok: true,
      value: {
        // 10:53:42 in Brno in October is CEST (UTC+2); microseconds are truncated to ms.
        tMs: Date.parse('2022-10-18T08:53:42.597Z'),
        mac: '7e:fd:7a:e4:31:66',
        rssi: -94,
        radio: 'wifi',
        seqNum: 2187,
        ie: '0,1,50,3,45,127,255,221,221,221',
        occupancy: 0,
      },
    })
    const vendor = parseEsp32CsvLine(ROWS[1], header(), TZ)
    expect(vendor.ok && vendor.value).toMatchObject({ mac: '74:eb:80:f3:6f:13', seqNum: 4031 })
    const flags = parseEsp32CsvLine(ROWS[3], header(), TZ)
    expect(flags.ok && flags.value).toMatchObject({ ie: '0,1,50,45,70,127', occupancy: 3 })
  })

  it('explains a bad row without quoting it', () => {
    const cases: Array<[string, RegExp]> = [
      [ROWS[0].replace(';-94;', ';-94;extra;'), /expected 14 fields, got 15/],
      [ROWS[0].replace('-94', '12'), /rssi is not an integer dBm/],
      [ROWS[0].replace('-94', ''), /rssi is not an integer dBm/],
      [ROWS[0].replace('7e:fd:7a:e4:31:66', '7e:fd:7a:e4:31'), /src is not a MAC/],
      [ROWS[0].replace('2022-10-18 10:53', '18/10/2022 10:53'), /datetime is not/],
      [ROWS[0].replace(';2187;', ';5000;'), /seq_num is not an integer in \[0, 4095\]/],
      [ROWS[0].replace('[0, 1, 50, 3', '[0, x, 50, 3'), /dot11elt holds something other/],
    ]
    for (const [line, reason] of cases) {
      const r = parseEsp32CsvLine(line, header(), TZ)
      expect(r.ok).toBe(false)
      if (!r.ok) {
        expect(r.reason).toMatch(reason)
        expect(r.reason).not.toMatch(/7e:fd|2187/)
      }
    }
  })

  it('reads local times across DST, and absolute ones as they are', () => {
    expect(parseCaptureTime('2022-10-18 10:53:42', 'Europe/Rome')).toBe(
      Date.parse('2022-10-18T08:53:42Z'),
    )
    expect(parseCaptureTime('2022-11-18 10:53:42.5', 'Europe/Rome')).toBe(
      Date.parse('2022-11-18T09:53:42.500Z'),
    )
    // 02:30 happens twice on 30 October 2022 in Rome: the first (summer time) is taken.
    expect(parseCaptureTime('2022-10-30 02:30:00', 'Europe/Rome')).toBe(
      Date.parse('2022-10-30T00:30:00Z'),
    )
    expect(parseCaptureTime('2022-10-30 03:30:00', 'Europe/Rome')).toBe(
      Date.parse('2022-10-30T02:30:00Z'),
    )
    expect(parseCaptureTime('2022-10-18T10:53:42Z', 'Europe/Rome')).toBe(
      Date.parse('2022-10-18T10:53:42Z'),
    )
    expect(parseCaptureTime('2022-10-18 10:53:42+0100', 'Europe/Rome')).toBe(
      Date.parse('2022-10-18T09:53:42Z'),
    )
    expect(parseCaptureTime('2022-13-18 10:53:42', 'Europe/Rome')).toBeNull()
  })
})

describe(createCaptureBatcher.name, () => {
  const T0 = Date.parse('2022-10-18T08:53:40Z')
  const s = (offsetMs: number, mac = '7e:fd:7a:e4:31:66'): RecordedSighting => ({
    tMs: T0 + offsetMs,
    mac,
    rssi: -80,
    radio: 'wifi',
  })

  it('batches per interval on the epoch grid, empty intervals included, sentAt at the end', () => {
    const sut = createCaptureBatcher({ gatewayId: 'gw-lab', bootId: 'abcd1234', intervalS: 5 })
    const out: SightingsBatch[] = []
    for (const x of [s(1000), s(4000), s(3000), s(17_000)]) out.push(...sut.add(x))
    out.push(...sut.flush())
    expect(out.map((b) => [b.seq, b.sentAt, b.sightings.length])).toEqual([
      [0, '2022-10-18T08:53:45.000Z', 3],
      [1, '2022-10-18T08:53:50.000Z', 0],
      [2, '2022-10-18T08:53:55.000Z', 0],
      [3, '2022-10-18T08:54:00.000Z', 1],
    ])
    expect(out[0]?.sightings.map((x) => x.t)).toEqual([
      '2022-10-18T08:53:41.000Z',
      '2022-10-18T08:53:43.000Z',
      '2022-10-18T08:53:44.000Z',
    ])
    for (const b of out) expect(SightingsBatchSchema.parse(b)).toEqual(b)
    expect(sut.late).toBe(0)
  })

  it('puts a row that goes back in time into the open batch and counts it late', () => {
    const sut = createCaptureBatcher({ gatewayId: 'gw-lab', bootId: 'abcd1234', intervalS: 5 })
    sut.add(s(1000))
    const first = sut.add(s(6000))
    sut.add(s(2000))
    const rest = sut.flush()
    expect(first).toHaveLength(1)
    expect(rest[0]?.sightings).toHaveLength(2)
    expect(sut.late).toBe(1)
  })

  it('splits a crowded interval within the protocol limits', () => {
    const sut = createCaptureBatcher({ gatewayId: 'gw-lab', bootId: 'abcd1234', intervalS: 600 })
    for (let i = 0; i < 12_000; i++)
      sut.add({ ...s(i * 4), seqNum: i % 4096, ie: '0,1,50,3,45,127,255,221' })
    const out = sut.flush()
    expect(out.length).toBeGreaterThanOrEqual(3)
    expect(out.reduce((n, b) => n + b.sightings.length, 0)).toBe(12_000)
    for (const b of out) {
      expect(b.sightings.length).toBeLessThanOrEqual(MAX_SIGHTINGS_PER_BATCH)
      expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES)
    }
  })
})

describe('native v1 JSONL', () => {
  const batch: SightingsBatch = {
    v: 1,
    gatewayId: 'gw-lab',
    bootId: '5f0c2a9e',
    seq: 7,
    sentAt: '2026-11-21T10:15:02.120Z',
    sightings: [
      { t: '2026-11-21T10:15:01.503Z', mac: '7e:fd:7a:e4:31:66', rssi: -71, radio: 'wifi' },
      { t: 1795256101703, mac: 'C4:9A:02:11:22:33', rssi: -84, radio: 'ble' },
    ],
  }

  it('reads a batch per line and refuses what is not one', () => {
    expect(parseJsonlBatchLine(JSON.stringify(batch))).toEqual({ ok: true, value: batch })
    expect(parseJsonlBatchLine('{"v":1,')).toEqual({ ok: false, reason: 'not valid JSON' })
    expect(parseJsonlBatchLine(JSON.stringify({ ...batch, v: 2 }))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^not a v1 sightings batch \(v:/),
    })
    expect(
      parseJsonlBatchLine(JSON.stringify({ ...batch, pad: 'x'.repeat(MAX_PAYLOAD_BYTES) })),
    ).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/longer than 262144 bytes/),
    })
  })

  it('shifts times keeping ISO strings and epoch numbers as they were', () => {
    const shifted = shiftBatch(batch, 86_400_000, 'gw-other')
    expect(shifted.gatewayId).toBe('gw-other')
    expect(shifted.sentAt).toBe('2026-11-22T10:15:02.120Z')
    expect(shifted.sightings.map((x) => x.t)).toEqual([
      '2026-11-22T10:15:01.503Z',
      1795256101703 + 86_400_000,
    ])
  })
})

describe(detectFormat.name, () => {
  it('goes by extension, then by the first line', () => {
    expect(detectFormat('x.jsonl', null)).toBe('jsonl')
    expect(detectFormat('x.NDJSON', null)).toBe('jsonl')
    expect(detectFormat('capture.csv', null)).toBe('csv')
    expect(detectFormat('capture.txt', HEADER)).toBe('csv')
    expect(detectFormat('dump', '{"v":1}')).toBe('jsonl')
    expect(detectFormat('dump', 'hello')).toBeNull()
  })
})

describe(replayShiftMs.name, () => {
  const first = Date.parse('2022-10-18T08:53:45Z')
  const last = first + 4 * 3_600_000
  const now = Date.parse('2026-11-21T12:00:00Z')

  it('starts the recording now in real time, ends it now at max speed, never runs ahead', () => {
    expect(first + replayShiftMs(first, last, 1, now)).toBe(now)
    expect(first + replayShiftMs(first, last, 0.5, now)).toBe(now)
    expect(last + replayShiftMs(first, last, 'max', now)).toBe(now)
    // 10×: 4 h take 24 min; the last batch is due at now + 24 min and dated then.
    expect(last + replayShiftMs(first, last, 10, now)).toBe(now + 24 * 60_000)
  })
})

describe(readRecording.name, () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'miglio-replay-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('reports a malformed CSV line with its number, skips and counts it, and goes on', async () => {
    const path = join(dir, 'capture.csv')
    await writeFile(
      path,
      [HEADER, ROWS[0], 'garbage;;', '', ROWS[1], ROWS[0].replace('-94', '+5')].join('\n'),
    )
    const problems: Array<[number, string]> = []
    const { batches, stats } = readRecording(
      path,
      { format: 'csv', gatewayId: 'gw-lab', timeZone: TZ, batchIntervalS: 5 },
      (line, reason) => problems.push([line, reason]),
    )
    const out: SightingsBatch[] = []
    for await (const b of batches) out.push(b)
    expect(problems).toEqual([
      [3, 'expected 14 fields, got 3'],
      [6, 'rssi is not an integer dBm in [-127, 0]'],
    ])
    expect(stats).toMatchObject({
      lines: 6,
      records: 2,
      malformed: 2,
      sightings: 2,
      distinctDevices: 2,
      gatewayIds: ['gw-lab'],
      batches: out.length,
      occupancy: { min: 0, max: 0, mean: 0, samples: 2 },
    })
    for (const b of out) expect(SightingsBatchSchema.safeParse(b).success).toBe(true)
    expect(out.every((b) => b.gatewayId === 'gw-lab' && /^[0-9a-f]{8}$/.test(b.bootId))).toBe(true)
  })

  it('reads JSONL, skipping bad lines by number', async () => {
    const path = join(dir, 'batches.jsonl')
    const b = (seq: number) =>
      JSON.stringify({
        v: 1,
        gatewayId: 'gw-a',
        bootId: 'b1',
        seq,
        sentAt: '2026-11-21T10:00:05Z',
        sightings: [],
      })
    await writeFile(path, `${b(0)}\n{oops\n\n${b(1)}\n`)
    const problems: number[] = []
    const { batches, stats } = readRecording(
      path,
      { format: 'jsonl', timeZone: TZ, batchIntervalS: 5 },
      (line) => problems.push(line),
    )
    const seqs: number[] = []
    for await (const x of batches) seqs.push(x.seq)
    expect(seqs).toEqual([0, 1])
    expect(problems).toEqual([2])
    expect(stats).toMatchObject({ records: 2, malformed: 1, gatewayIds: ['gw-a'] })
  })

  it('needs the gateway a CSV capture stands for', () => {
    expect(() =>
      readRecording(join(dir, 'capture.csv'), { format: 'csv', timeZone: TZ, batchIntervalS: 5 }),
    ).toThrow(/needs --gateway/)
  })

  it.skipIf(!existsSync(`${BRNO}/position_1_2022-10-19.csv`))(
    'streams a whole Brno capture into valid batches',
    async () => {
      const problems: number[] = []
      const { batches, stats } = readRecording(
        `${BRNO}/position_1_2022-10-19.csv`,
        { format: 'csv', gatewayId: 'gw-brno-lab', timeZone: TZ, batchIntervalS: 5 },
        (line) => problems.push(line),
      )
      let previous = 0
      for await (const b of batches) {
        expect(SightingsBatchSchema.safeParse(b).success).toBe(true)
        expect(toEpochMs(b.sentAt)).toBeGreaterThan(previous)
        previous = toEpochMs(b.sentAt)
      }
      expect(problems).toEqual([])
      expect(stats.records).toBe(stats.lines - 1)
      expect(stats.sightings).toBe(stats.records)
      expect(stats.firstSentAtMs).toBe(Date.parse('2022-10-19T13:01:20Z'))
      expect(stats.distinctDevices).toBeGreaterThan(10)
    },
  )
})
