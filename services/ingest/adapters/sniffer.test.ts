import { describe, expect, it } from 'vitest'
import { decodeSnifferMessage } from './sniffer.ts'
import { parseCaptureTime } from '../../shared/contracts/sniffer-csv.ts'
import { describeGoldenAndFuzz } from './golden-suite.ts'

const TOPIC = 'sniffers/sc6-61/position_1'
const NOW = Date.parse('2022-10-18T08:54:00Z')
const LINE =
  '2022-10-18 10:53:42.597864;ff:ff:ff:ff:ff:ff;7e:fd:7a:e4:31:66;;1;-94;0;2187;2417;;SSID_56211587;[0, 1, 50, 3, 45, 127, 255, 221, 221, 221];[6130, 20722, 4120];0.0'
const PRAGUE = { timeZone: 'Europe/Prague' }
const decode = (text: string, now = NOW) =>
  decodeSnifferMessage(TOPIC, Buffer.from(text), now, undefined, PRAGUE)

describeGoldenAndFuzz(
  'sniffer',
  (c, topic, bytes) =>
    decodeSnifferMessage(topic ?? '', bytes, c.nowMs, undefined, {
      timeZone: c.options?.timeZone ?? 'Europe/Rome',
    }),
  { update: process.env.UPDATE_GOLDEN === '1' },
)

describe(decodeSnifferMessage.name, () => {
  it('keeps the de-randomisation hints: seq_num and the IE ids', () => {
    const r = decode(LINE)
    expect(r.ok && r.kind === 'sightings' && r.groups[0]!.sightings[0]).toEqual({
      tMs: Date.parse('2022-10-18T08:53:42.597Z'),
      mac: '7efd7ae43166',
      rssi: -94,
      radio: 'wifi',
      randomised: true,
      seqNum: 2187,
      ie: '0,1,50,3,45,127,255,221,221,221',
    })
  })

  it('reads local time in the given zone, across a DST change', () => {
    // 02:30 happens twice on 30 October: the earlier instant, as the simulator's clock reads it.
    expect(parseCaptureTime('2022-10-30 02:30:00', 'Europe/Rome')).toBe(
      Date.parse('2022-10-30T00:30:00Z'),
    )
    expect(parseCaptureTime('2022-10-29 12:00:00', 'Europe/Rome')).toBe(
      Date.parse('2022-10-29T10:00:00Z'),
    )
    expect(parseCaptureTime('2022-10-30 12:00:00', 'Europe/Rome')).toBe(
      Date.parse('2022-10-30T11:00:00Z'),
    )
    expect(parseCaptureTime('2022-07-01 12:00:00', 'Europe/Rome')).toBe(
      Date.parse('2022-07-01T10:00:00Z'),
    )
    expect(parseCaptureTime('2022-07-01 12:00:00+02:00', 'UTC')).toBe(
      Date.parse('2022-07-01T10:00:00Z'),
    )
    expect(parseCaptureTime('2022-02-30 12:00:00', 'UTC')).toBeNull()
  })

  it.each([
    ['a short line', LINE.split(';').slice(0, 5).join(';'), 'bad_sniffer_line'],
    ['a bad src', LINE.replace('7e:fd:7a:e4:31:66', 'not-a-mac'), 'bad_mac'],
    ['a positive rssi', LINE.replace(';-94;', ';5;'), 'bad_sniffer_line'],
    ['a bad seq_num', LINE.replace(';2187;', ';5000;'), 'bad_sniffer_line'],
    ['bad element ids', LINE.replace('[0, 1, 50', '[0, 1, 999'), 'bad_sniffer_line'],
    ['a bad datetime', LINE.replace('2022-10-18 10:53', '2022-13-18 10:53'), 'bad_sniffer_line'],
    ['a header without src', 'datetime;rssi\n2022-10-18 10:53:42;-90', 'bad_sniffer_line'],
    ['nothing', '\n\n', 'bad_sniffer_line'],
  ])('refuses %s', (_name, text, reason) => {
    const r = decode(text)
    expect(r.ok ? 'ok' : r.reason).toBe(reason)
  })

  it('refuses a capture older than 24 h or from the future (the live window)', () => {
    const r = decode(LINE, NOW + 48 * 3_600_000)
    expect(r.ok ? 'ok' : r.reason).toBe('stale_timestamp')
    const f = decode(LINE, NOW - 3_600_000)
    expect(f.ok ? 'ok' : f.reason).toBe('future_timestamp')
  })
})
