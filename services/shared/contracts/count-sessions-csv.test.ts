import { describe, expect, it } from 'vitest'
import {
  formatCountSessionsCsv,
  occupancyCountSessions,
  parseCountSessionsCsv,
  splitCsvLine,
} from './count-sessions-csv.ts'

const HEAD = 'zone,start,end,kind,people,counted_by'
const row = (over: Partial<Record<string, string>> = {}) => {
  const r = {
    zone: 'street-a',
    start: '2026-11-21T10:00:00+01:00',
    end: '2026-11-21T10:15:00+01:00',
    kind: 'present',
    people: '4',
    counted_by: 'Giulia',
    ...over,
  }
  return [r.zone, r.start, r.end, r.kind, r.people, r.counted_by].join(',')
}

describe('parseCountSessionsCsv', () => {
  it('reads sessions with their line numbers, optional columns and quoting', () => {
    const text = [
      'Zone,Start,End,Kind,People,Counted_by,Note,Gateway',
      `${row()},"door, north side",gw-street-a`,
      '',
      `${row({ kind: 'in', people: '12' })},"said ""hi""",`,
    ].join('\r\n')
    const r = parseCountSessionsCsv(text)
    expect(r).toEqual({
      ok: true,
      lines: [2, 4],
      sessions: [
        {
          zone: 'street-a',
          from: '2026-11-21T10:00:00+01:00',
          to: '2026-11-21T10:15:00+01:00',
          kind: 'present',
          people: 4,
          countedBy: 'Giulia',
          note: 'door, north side',
          gateway: 'gw-street-a',
        },
        {
          zone: 'street-a',
          from: '2026-11-21T10:00:00+01:00',
          to: '2026-11-21T10:15:00+01:00',
          kind: 'in',
          people: 12,
          countedBy: 'Giulia',
          note: 'said "hi"',
        },
      ],
    })
  })

  it.each([
    ['a negative count', row({ people: '-2' }), 'people: a count of people cannot be negative'],
    ['a count that is no number', row({ people: 'many' }), 'people is not a number'],
    ['an empty count', row({ people: '' }), 'people is not a number'],
    ['a window ending first', row({ end: '2026-11-21T09:00:00+01:00' }), 'end: must be after from'],
    ['a time without offset', row({ start: '2026-11-21 10:00' }), 'start: '],
    ['an unknown kind', row({ kind: 'inside' }), 'kind: '],
    ['a fractional in', row({ kind: 'out', people: '1.5' }), 'whole number'],
    ['no counter', row({ counted_by: '' }), 'counted_by: say who counted'],
    ['a bad zone id', row({ zone: 'Via Roma' }), 'zone: must be 1–64 lowercase'],
    ['a missing field', 'street-a,2026-11-21T10:00:00+01:00', '2 fields, the header has 6'],
    ['an unclosed quote', `${row()}`.replace('Giulia', '"Giulia'), 'not valid CSV'],
  ])('refuses the file at the line of %s', (_name, bad, reason) => {
    const r = parseCountSessionsCsv([HEAD, row(), bad, row()].join('\n'))
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.line).toBe(3)
    expect(r.reason).toContain(reason)
  })

  it('refuses a header missing or adding columns, and an empty file', () => {
    expect(parseCountSessionsCsv('zone,start,end,kind,people\n')).toEqual({
      ok: false,
      line: 1,
      reason: 'missing columns: counted_by',
    })
    expect(parseCountSessionsCsv(`${HEAD},mac\n`)).toMatchObject({ reason: 'unknown columns: mac' })
    expect(parseCountSessionsCsv('\n\n')).toMatchObject({ ok: false, reason: 'the file is empty' })
    expect(parseCountSessionsCsv(`${HEAD}\n`)).toMatchObject({ ok: false, reason: 'no sessions' })
  })

  it('reads back what it writes', () => {
    const r = parseCountSessionsCsv(`${HEAD},note\n${row()},"a, b"\n`)
    if (!r.ok) throw new Error(r.reason)
    const again = parseCountSessionsCsv(formatCountSessionsCsv(r.sessions))
    expect(again.ok && again.sessions).toEqual(r.sessions)
  })

  it('splits quoted fields', () => {
    expect(splitCsvLine('a,"b,c",,"d""e"')).toEqual(['a', 'b,c', '', 'd"e'])
    expect(splitCsvLine('"a')).toBeNull()
  })
})

describe('occupancyCountSessions', () => {
  const header =
    'datetime;dst;src;src_vendor;randomized;rssi;idx;seq_num;ch_freq;FCfield;ssid;dot11elt;oui;occupancy'
  const line = (t: string, occ: string) =>
    `2022-10-18 ${t};ff:ff:ff:ff:ff:ff;7e:fd:7a:e4:31:66;;1;-94;0;2187;2417;;;[0];[1];${occ}`

  it('averages the occupancy per 15-minute window, holding it between probe requests', () => {
    // 10:00–10:30 Prague (UTC+2 in October): 2 people until 10:10, then 5.
    const capture = [
      header,
      line('09:58:00.1', '2.0'),
      line('10:00:10.0', '2.0'),
      line('10:00:40.0', '2.0'),
      line('10:10:05.0', '5.0'),
      line('10:29:30.0', '5.0'),
      line('10:31:00.0', 'x'),
    ].join('\n')
    const r = occupancyCountSessions(capture, { zone: 'lab', timeZone: 'Europe/Prague' })
    expect(r).toEqual({
      ok: true,
      sessions: [
        {
          zone: 'lab',
          from: '2022-10-18T08:00:00.000Z',
          to: '2022-10-18T08:15:00.000Z',
          kind: 'present',
          people: Math.round(((10 * 2 + 5 * 5) / 15) * 100) / 100,
          countedBy: 'occupancy ground truth',
        },
        {
          zone: 'lab',
          from: '2022-10-18T08:15:00.000Z',
          to: '2022-10-18T08:30:00.000Z',
          kind: 'present',
          people: 5,
          countedBy: 'occupancy ground truth',
        },
      ],
    })
  })

  it('leaves out windows with a gap longer than the hold', () => {
    const capture = [header, line('10:00:00.0', '1'), line('10:44:59.0', '1')].join('\n')
    const r = occupancyCountSessions(capture, {
      zone: 'lab',
      timeZone: 'Europe/Prague',
      holdMinutes: 10,
    })
    expect(r.ok && r.sessions.map((s) => s.from)).toEqual([])
  })

  it('refuses a capture without occupancy', () => {
    expect(occupancyCountSessions('datetime;src;rssi\n', { zone: 'x', timeZone: 'UTC' })).toEqual({
      ok: false,
      line: 1,
      reason: 'the capture has no occupancy column',
    })
  })
})
