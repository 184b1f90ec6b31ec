import { describe, expect, it } from 'vitest'
import { errorCodeOf, shortMessage } from './http-errors.ts'

describe(errorCodeOf.name, () => {
  it.each([
    [400, 'bad_request'],
    [401, 'unauthorised'],
    [403, 'forbidden'],
    [404, 'not_found'],
    [405, 'method_not_allowed'],
    [413, 'payload_too_large'],
    [414, 'uri_too_long'],
    [415, 'unsupported_media_type'],
    [418, 'i_m_a_teapot'],
    [429, 'rate_limited'],
    [431, 'request_header_fields_too_large'],
    [499, 'bad_request'],
    [500, 'internal'],
    [503, 'service_unavailable'],
    [599, 'internal'],
  ])('%i → %s', (status, code) => {
    expect(errorCodeOf(status)).toBe(code)
  })
})

describe(shortMessage.name, () => {
  it('keeps one line of at most 200 characters', () => {
    expect(shortMessage('a\n  b')).toBe('a b')
    const long = shortMessage('x'.repeat(500))
    expect(long).toHaveLength(200)
    expect(long.endsWith('…')).toBe(true)
  })
})
