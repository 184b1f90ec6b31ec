import { describe, expect, it } from 'vitest'
import {
  CONTEXT_MAX_ERRORS,
  describeContextErrors,
  parseContextCsv,
  parseContextTime,
  parseContextValue,
  splitCsv,
} from './context-csv.ts'

const TZ = 'Europe/Rome'

function rowsOf(text: string) {
  const r = parseContextCsv(text, TZ)
  if (!r.ok) throw new Error(describeContextErrors(r.errors, r.more))
  return r.rows
}

function errorsOf(text: string) {
  const r = parseContextCsv(text, TZ)
  if (r.ok) throw new Error('expected the file to be refused')
  return r.errors
}

describe(parseContextCsv.name, () => {
  it('reads instants, local times and whole days, district-wide and per zone', () => {
    const rows = rowsOf(
      [
        'time,zone,variable,value',
        '2026-11-21T10:00:00+01:00,,rain_mm,2.4',
        '2026-11-21 11:00,district,temperature_c,-1.5',
        '2026-11-21,piazza-ferretto,market,1',
        '2026-11-23,via-palazzo,roadworks,"lane closed, one side"',
      ].join('\r\n'),
    )
    expect(rows).toEqual([
      {
        row: 2,
        at: Date.parse('2026-11-21T09:00:00Z'),
        wholeDay: false,
        zoneId: null,
        variable: 'rain_mm',
        value: 2.4,
      },
      {
        row: 3,
        at: Date.parse('2026-11-21T10:00:00Z'),
        wholeDay: false,
        zoneId: null,
        variable: 'temperature_c',
        value: -1.5,
      },
      {
        row: 4,
        at: Date.parse('2026-11-20T23:00:00Z'),
        wholeDay: true,
        zoneId: 'piazza-ferretto',
        variable: 'market',
        value: 1,
      },
      {
        row: 5,
        at: Date.parse('2026-11-22T23:00:00Z'),
        wholeDay: true,
        zoneId: 'via-palazzo',
        variable: 'roadworks',
        value: 'lane closed, one side',
      },
    ])
  })

  it('takes the columns in any order, a BOM, upper case, semicolons and decimal commas', () => {
    const rows = rowsOf(
      '\uFEFFVariable;Value;District;Time\nRain_MM;2,4;;2026-07-01 09:00\n\nrain_mm;0;;2026-07-01 10:00\n',
    )
    expect(rows.map((r) => [r.row, r.variable, r.value, r.at])).toEqual([
      [2, 'rain_mm', 2.4, Date.parse('2026-07-01T07:00:00Z')],
      [4, 'rain_mm', 0, Date.parse('2026-07-01T08:00:00Z')],
    ])
  })

  it('refuses every bad row with its number and reason, and imports nothing', () => {
    const errors = errorsOf(
      [
        'time,zone,variable,value',
        '2026-11-21T10:00:00Z,,rain_mm,1', // 2: fine
        '21/11/2026,,rain_mm,1', // 3: time
        '2026-02-30,,rain_mm,1', // 4: no such date
        '2026-11-21T11:00:00Z,Via Palazzo,rain_mm,1', // 5: zone
        '2026-11-21T12:00:00Z,,Rain mm,1', // 6: variable
        '2026-11-21T13:00:00Z,,rain_mm,', // 7: empty value
        '2026-11-21T14:00:00Z,,rain_mm,heavy', // 8: text in a numeric variable
        '2026-11-21T10:00:00Z,,rain_mm,3', // 9: duplicate of row 2
        '2026-11-21T15:00:00Z,,rain_mm', // 10: missing field
      ].join('\n'),
    )
    expect(errors.map((e) => e.row)).toEqual([3, 4, 5, 6, 7, 8, 9, 10])
    expect(errors[0]?.reason).toMatch(/^time: expected/)
    expect(errors[1]?.reason).toMatch(/not a date/)
    expect(errors[2]?.reason).toMatch(/^zone:/)
    expect(errors[3]?.reason).toMatch(/^variable:/)
    expect(errors[4]?.reason).toBe('value: empty')
    expect(errors[5]?.reason).toBe('value: rain_mm holds numbers (row 2), not text')
    expect(errors[6]?.reason).toBe('the same time, zone and variable as row 2')
    expect(errors[7]?.reason).toBe('3 fields, the header has 4')
  })

  it('refuses a bad header, naming what it expects', () => {
    expect(errorsOf('when,zone,variable,value\n')[0]).toEqual({
      row: 1,
      reason: 'unknown column "when"; the header is time,zone,variable,value',
    })
    expect(errorsOf('time,zone,variable\n')[0]?.reason).toMatch(/no column "value"/)
    expect(errorsOf('')[0]?.reason).toMatch(/empty/)
  })

  it('stops listing after the maximum and says there were more', () => {
    const lines = ['time,zone,variable,value']
    for (let i = 0; i < CONTEXT_MAX_ERRORS + 5; i++) lines.push('never,,rain_mm,1')
    const r = parseContextCsv(lines.join('\n'), TZ)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.errors).toHaveLength(CONTEXT_MAX_ERRORS)
    expect(r.more).toBe(true)
    expect(describeContextErrors(r.errors, r.more, 2)).toMatch(
      /^row 2: time: .*; row 3: time: .* \(and more bad rows\)$/,
    )
  })

  it('reports an unclosed quote with its row', () => {
    expect(errorsOf('time,zone,variable,value\n2026-11-21,,note,"open\n')[0]?.row).toBe(2)
  })
})

describe(parseContextTime.name, () => {
  it('reads a local time the spring change skips as the time after the gap', () => {
    // 29 March 2026, 02:30 does not exist in Rome: 03:30 summer time.
    expect(parseContextTime('2026-03-29 02:30', TZ)).toEqual({
      at: Date.parse('2026-03-29T01:30:00Z'),
      wholeDay: false,
    })
  })

  it('refuses times outside 2000–9999 and impossible clocks', () => {
    expect(parseContextTime('1999-12-31', TZ)).toHaveProperty('error')
    expect(parseContextTime('2026-11-21T24:00', TZ)).toHaveProperty('error')
    expect(parseContextTime('2026-11-21T10:00+19:00', TZ)).toHaveProperty('error')
  })
})

describe(parseContextValue.name, () => {
  it('reads numbers, and a decimal comma only when asked', () => {
    expect(parseContextValue(' 1e3 ', false)).toEqual({ value: 1000 })
    expect(parseContextValue('2,5', true)).toEqual({ value: 2.5 })
    expect(parseContextValue('2,5', false)).toEqual({ value: '2,5' })
    expect(parseContextValue('x'.repeat(201), false)).toHaveProperty('error')
    expect(parseContextValue('a\u0007b', false)).toHaveProperty('error')
  })
})

describe(splitCsv.name, () => {
  it('keeps separators, quotes and line breaks inside quotes', () => {
    expect(splitCsv('a,"b,""c""\nd"\r\ne,f', ',')).toEqual([
      ['a', 'b,"c"\nd'],
      ['e', 'f'],
    ])
  })
})
