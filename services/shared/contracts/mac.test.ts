import { describe, expect, it } from 'vitest'
import { containsMac, isRandomisedMac, normaliseMac, redactMacs } from './mac.ts'

describe(normaliseMac.name, () => {
  it.each([
    ['7e:fd:7a:e4:31:66', 'colon-separated'],
    ['7e-fd-7a-e4-31-66', 'dash-separated'],
    ['7efd7ae43166', 'bare'],
    ['7E:FD:7A:E4:31:66', 'upper-case colon'],
    ['7E-fd-7A-e4-31-66', 'mixed-case dash'],
    ['7EFD7AE43166', 'upper-case bare'],
  ])('normalises %s (%s) to 12 lower-case hex digits', (input) => {
    expect(normaliseMac(input)).toBe('7efd7ae43166')
  })

  it.each([
    ['', 'empty'],
    ['7efd7ae4316', '11 digits'],
    ['7efd7ae431660', '13 digits'],
    ['7e:fd:7a:e4:31', 'five octets'],
    ['7e:fd:7a:e4:31:66:01', 'seven octets'],
    ['7e:fd:7a:e4:31:6', 'short last octet'],
    ['7e:fd-7a:e4:31:66', 'mixed separators'],
    ['7e-fd-7a-e4-31:66', 'mixed separators at the end'],
    ['7e.fd.7a.e4.31.66', 'dot separators'],
    ['7ef:d7a:e43:166:', 'separators in the wrong places'],
    ['7efd7ae4316g', 'non-hex digit, bare'],
    ['7e:fd:7a:e4:31:6z', 'non-hex digit, colon'],
    [' 7efd7ae43166', 'leading space'],
    ['7efd7ae43166 ', 'trailing space'],
  ])('rejects %j (%s)', (input) => {
    expect(normaliseMac(input)).toBeNull()
  })
})

describe(isRandomisedMac.name, () => {
  it.each(['2', '6', 'a', 'e'])('flags a MAC whose second hex digit is %s', (digit) => {
    expect(isRandomisedMac(`7${digit}fd7ae43166`)).toBe(true)
    expect(isRandomisedMac(`0${digit}0000000000`)).toBe(true)
  })

  it.each(['0', '1', '3', '4', '5', '7', '8', '9', 'b', 'c', 'd', 'f'])(
    'does not flag a MAC whose second hex digit is %s',
    (digit) => {
      expect(isRandomisedMac(`c${digit}9a02112233`)).toBe(false)
    },
  )

  it('reads only the first octet', () => {
    expect(isRandomisedMac('c49a02112233')).toBe(false)
    expect(isRandomisedMac('c42222222222')).toBe(false)
  })
})

describe(redactMacs.name, () => {
  const X = 'xx:xx:xx:xx:xx:xx'

  it.each([
    ['colon', 'heard 7e:fd:7a:e4:31:66 at gw-1'],
    ['dash', 'heard 7e-fd-7a-e4-31-66 at gw-1'],
    ['bare', 'heard 7efd7ae43166 at gw-1'],
    ['upper-case colon', 'heard 7E:FD:7A:E4:31:66 at gw-1'],
    ['upper-case dash', 'heard 7E-FD-7A-E4-31-66 at gw-1'],
    ['upper-case bare', 'heard 7EFD7AE43166 at gw-1'],
  ])('redacts a %s MAC', (_form, text) => {
    expect(redactMacs(text)).toBe(`heard ${X} at gw-1`)
  })

  it.each([
    ['an underscore', 'mac_7efd7ae43166', `mac_${'xx:xx:xx:xx:xx:xx'}`],
    ['letters', 'id7e:fd:7a:e4:31:66', `id${'xx:xx:xx:xx:xx:xx'}`],
  ])('redacts a MAC glued to %s', (_what, text, expected) => {
    expect(redactMacs(text)).toBe(expected)
  })

  it('leaves longer hex runs and 13-digit epoch milliseconds alone', () => {
    expect(redactMacs('t=1763720101703 sha=7efd7ae43166ab')).toBe(
      't=1763720101703 sha=7efd7ae43166ab',
    )
  })

  it('redacts every MAC in a text', () => {
    const text =
      '{"mac":"7e:fd:7a:e4:31:66"},{"mac":"C4-9A-02-11-22-33"} topic home/gw/BTtoMQTT/45E174126E00'
    expect(redactMacs(text)).toBe(`{"mac":"${X}"},{"mac":"${X}"} topic home/gw/BTtoMQTT/${X}`)
  })

  it('redacts a MAC at the very start and end of the text', () => {
    expect(redactMacs('7e:fd:7a:e4:31:66')).toBe(X)
    expect(redactMacs('a 244b03d72780')).toBe(`a ${X}`)
  })

  it.each([
    ['mixed separators', 'heard 7e:fd-7a:e4:31:66 at gw-1'],
    ['dots', 'heard 7e.fd.7a.e4.31.66 at gw-1'],
    ['underscores', 'heard 7e_fd_7a_e4_31_66 at gw-1'],
    ["Cisco's dotted groups", 'heard 7efd.7ae4.3166 at gw-1'],
    ['JSON-escaped digits', 'heard 7\\u0065:fd:7a:e4:31:66 at gw-1'],
    ['every character escaped', 'heard \\u0037\\u0045\\u003a\\u0066\\u0064:7a:e4:31:66 at gw-1'],
    ['an escaped separator', 'heard 7e-fd-7a-e4-31\\u002d66 at gw-1'],
  ])('redacts a MAC written with %s', (_form, text) => {
    expect(redactMacs(text)).toBe(`heard ${X} at gw-1`)
    expect(containsMac(text)).toBe(true)
  })

  it('sees through full-width digits and invisible characters', () => {
    expect(redactMacs('heard \uff17\uff45:fd:7a:e4:31:66 at gw-1')).toBe(`heard ${X} at gw-1`)
    expect(redactMacs('heard 7e:fd:7a\u200b:e4:31:\u00ad66 at gw-1')).toBe(`heard ${X} at gw-1`)
  })

  it('leaves an escaped backslash before a u alone (the text stays valid JSON)', () => {
    const json = JSON.stringify({ s: 'C:\\u0065' })
    expect(redactMacs(json)).toBe(json)
    expect(JSON.parse(redactMacs(JSON.stringify({ m: '7e:fd:7a:e4:31:66' })))).toEqual({ m: X })
  })

  it('redacts the address at the end of a version 1 UUID, and with keepUuids keeps random ones', () => {
    const v4 = '3f2b8c1e-9a4d-4c7b-8e21-bb7f5a3c9d10'
    const v1 = '6fa459ea-ee8a-11e4-9b2d-7efd7ae43166'
    expect(redactMacs(`key ${v4}`, { keepUuids: true })).toBe(`key ${v4}`)
    expect(redactMacs(`key ${v1}`, { keepUuids: true })).toBe(`key 6fa459ea-ee8a-11e4-9b2d-${X}`)
    expect(redactMacs(`key ${v4} mac 7efd7ae43166`, { keepUuids: true })).toBe(`key ${v4} mac ${X}`)
    // Text a gateway sent is redacted strictly: a UUID-shaped wrapper does not protect a MAC.
    expect(redactMacs(`key ${v4}`)).toBe(`key 3f2b8c1e-9a4d-4c7b-8e21-${X}`)
  })

  it('leaves text without MACs unchanged', () => {
    const text =
      'gw-corte-legrenzi-1 seq 1842 boot 5f0c2a9e at 2026-11-21T10:15:02.120Z t=1763720101703 rssi -71 fw 1.4.2 12:30:45'
    expect(redactMacs(text)).toBe(text)
  })

  it('leaves hex runs longer than a MAC alone', () => {
    const text = 'sha 7efd7ae43166aa and 7e:fd:7a:e4:31'
    expect(redactMacs(text)).toBe(text)
  })

  it('can be called repeatedly with the same result (no global regex state)', () => {
    const text = 'mac 7e:fd:7a:e4:31:66'
    expect(redactMacs(text)).toBe(`mac ${X}`)
    expect(redactMacs(text)).toBe(`mac ${X}`)
  })
})
