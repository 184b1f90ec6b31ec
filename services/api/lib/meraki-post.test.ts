import { describe, expect, it } from 'vitest'
import { checkMerakiPost, secretMatches } from './meraki-post.ts'

const SECRET = 'Sh4red-s3cret-of-the-network'

/** A WiFi observation as Meraki sends one (client and AP addresses made up). */
const observation = (i: number) => ({
  clientMac: `02:00:00:00:${String(Math.floor(i / 256) % 100).padStart(2, '0')}:${(i % 256).toString(16).padStart(2, '0')}`,
  ipv4: null,
  ipv6: null,
  ssid: null,
  os: null,
  manufacturer: 'Intel',
  locations: [
    {
      time: '2026-11-21T10:00:00Z',
      lat: 45.4886,
      lng: 12.2405,
      variance: 3.2,
      rssiRecords: [{ apMac: 'a8:46:9d:27:56:63', rssi: -70 - (i % 20) }],
    },
  ],
  latestRecord: null,
})

const post = (n: number, over: Record<string, unknown> = {}) => ({
  version: '3.0',
  secret: SECRET,
  type: 'WiFi',
  data: {
    networkId: 'L_674976994152158449',
    observations: Array.from({ length: n }, (_, i) => observation(i)),
  },
  ...over,
})
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8')

describe(checkMerakiPost.name, () => {
  it('passes a v3 post on as it came, byte for byte, with its network', () => {
    const body = Buffer.from(` ${JSON.stringify(post(3))}\n`)
    const sut = checkMerakiPost(body, SECRET)
    expect(sut).toEqual({ ok: true, networkId: 'L_674976994152158449', messages: [body] })
    if (sut.ok) expect(sut.messages[0]).toBe(body)
  })

  it('takes version 3 written as a number, and any minor version', () => {
    expect(checkMerakiPost(bytes(post(1, { version: 3 })), SECRET).ok).toBe(true)
    expect(checkMerakiPost(bytes(post(1, { version: '3.1.2' })), SECRET).ok).toBe(true)
  })

  it.each([
    ['not JSON', Buffer.from('{"secret":'), 400, 'not_json'],
    ['an array', bytes([post(1)]), 400, 'not_json'],
    ['no secret', bytes(post(1, { secret: undefined })), 403, 'missing_secret'],
    ['an empty secret', bytes(post(1, { secret: '' })), 403, 'missing_secret'],
    ['a secret that is not text', bytes(post(1, { secret: 42 })), 403, 'missing_secret'],
    ['a wrong secret', bytes(post(1, { secret: 'guess-guess-guess' })), 403, 'wrong_secret'],
    ['a longer secret', bytes(post(1, { secret: `${SECRET}x` })), 403, 'wrong_secret'],
    ['a v2 post', bytes(post(1, { version: '2.0' })), 400, 'bad_post'],
    ['no data', bytes(post(1, { data: null })), 400, 'bad_post'],
    [
      'a network id with a topic separator',
      bytes(post(1, { data: { networkId: 'L_1/x', observations: [] } })),
      400,
      'bad_post',
    ],
    [
      'a wildcard network id',
      bytes(post(1, { data: { networkId: '#', observations: [] } })),
      400,
      'bad_post',
    ],
    [
      'observations that are not a list',
      bytes(post(1, { data: { networkId: 'L_1', observations: {} } })),
      400,
      'bad_post',
    ],
  ])('refuses %s', (_case, body, status, reason) => {
    const sut = checkMerakiPost(body, SECRET)
    expect(sut).toMatchObject({ ok: false, status, reason })
    if (!sut.ok) {
      expect(sut.message).not.toContain(SECRET)
      expect(sut.message).not.toContain('guess')
      expect(sut.message).not.toMatch(/[0-9a-f]{2}(:[0-9a-f]{2}){5}/i)
    }
  })

  it('checks the secret before anything else of the format', () => {
    const wrong = { secret: 'guess-guess-guess' }
    expect(checkMerakiPost(bytes(post(1, { ...wrong, version: '2.0' })), SECRET)).toMatchObject({
      reason: 'wrong_secret',
    })
    expect(checkMerakiPost(bytes({ ...wrong, data: 1 }), SECRET)).toMatchObject({
      reason: 'wrong_secret',
    })
  })

  it('cuts a post over the message size into complete posts that share its observations', () => {
    const whole = post(400)
    const body = bytes(whole)
    const max = Math.floor(body.length / 3)
    const sut = checkMerakiPost(body, SECRET, max)
    if (!sut.ok) throw new Error(sut.message)
    expect(sut.messages.length).toBeGreaterThanOrEqual(3)
    expect(sut.messages.length).toBeLessThanOrEqual(4)
    const parts = sut.messages.map((m) => JSON.parse(m.toString('utf8')) as ReturnType<typeof post>)
    for (const [i, part] of parts.entries()) {
      expect(sut.messages[i]?.length).toBeLessThanOrEqual(max)
      expect({ ...part, data: { ...part.data, observations: [] } }).toEqual({
        ...whole,
        data: { ...whole.data, observations: [] },
      })
      expect(part.data.observations.length).toBeGreaterThan(0)
    }
    expect(parts.flatMap((p) => p.data.observations)).toEqual(whole.data.observations)
  })

  it('fills a part up to the byte and starts the next one beyond it', () => {
    const two = bytes(post(2))
    const exact = checkMerakiPost(bytes(post(4)), SECRET, two.length)
    if (!exact.ok) throw new Error(exact.message)
    // Same-sized observations: two fit exactly in a message of a two-observation post's size.
    expect(exact.messages.map((m) => m.length)).toEqual([two.length, two.length])
    const tight = checkMerakiPost(bytes(post(4)), SECRET, two.length - 1)
    if (!tight.ok) throw new Error(tight.message)
    expect(tight.messages).toHaveLength(4)
  })

  it('refuses a post whose single observation cannot fit in a message (413)', () => {
    const sut = checkMerakiPost(bytes(post(2)), SECRET, bytes(post(1)).length - 1)
    expect(sut).toMatchObject({ ok: false, status: 413, reason: 'too_large' })
  })
})

describe(secretMatches.name, () => {
  it('matches the configured secret only', () => {
    expect(secretMatches(SECRET, SECRET)).toBe(true)
    expect(secretMatches(SECRET.slice(0, -1), SECRET)).toBe(false)
    expect(secretMatches('', SECRET)).toBe(false)
    expect(secretMatches('', '')).toBe(false)
  })
})
