import { describe, expect, it } from 'vitest'
import { toCsv } from './csv.ts'

describe(toCsv.name, () => {
  it('writes a header row and CRLF-terminated rows', () => {
    expect(
      toCsv({
        columns: ['a', 'b'],
        rows: [
          [1, 'x'],
          [2.5, null],
        ],
      }),
    ).toBe('a,b\r\n1,x\r\n2.5,\r\n')
  })

  it('quotes fields with commas, quotes, semicolons or line breaks and doubles quotes', () => {
    expect(toCsv({ columns: ['v'], rows: [['a,b'], ['say "hi"'], ['x\ny'], ['p;q']] })).toBe(
      'v\r\n"a,b"\r\n"say ""hi"""\r\n"x\ny"\r\n"p;q"\r\n',
    )
  })

  it('joins arrays with semicolons and neutralises formulas in text', () => {
    expect(toCsv({ columns: ['v', 'w', 'n'], rows: [[[1, 2], '=HYPERLINK("x")', -3]] })).toBe(
      'v,w,n\r\n"1;2","\'=HYPERLINK(""x"")",-3\r\n',
    )
  })

  it('writes booleans and leaves non-finite numbers empty', () => {
    expect(toCsv({ columns: ['b', 'n'], rows: [[true, Number.NaN]] })).toBe('b,n\r\ntrue,\r\n')
  })
})
