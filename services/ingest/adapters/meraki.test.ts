import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { decodeMerakiPost } from './meraki.ts'
import { describeGoldenAndFuzz } from './golden-suite.ts'

const SECRET = 'fs!24Get'
const POST = { method: 'POST', contentType: 'application/json' }
const NOW = Date.parse('2021-11-23T14:06:00Z')
const wifi = JSON.parse(
  readFileSync(new URL('./golden/meraki/wifi-latest-record.payload', import.meta.url), 'utf8'),
) as { data: { observations: Array<Record<string, unknown>> } }
const body = (v: unknown) => Buffer.from(JSON.stringify(v))
const decode = (v: unknown, now = NOW) =>
  decodeMerakiPost(POST, body(v), now, undefined, { secret: SECRET })

describeGoldenAndFuzz(
  'meraki',
  (c, _topic, bytes) =>
    decodeMerakiPost(c.request ?? POST, bytes, c.nowMs, undefined, {
      secret: c.options?.secret ?? SECRET,
    }),
  { update: process.env.UPDATE_GOLDEN === '1' },
)

function withObservation(o: Record<string, unknown>) {
  return { ...wifi, data: { ...wifi.data, observations: [o] } }
}

describe(decodeMerakiPost.name, () => {
  it('drops and counts records outside the time window instead of losing the whole post', () => {
    const r = decode(wifi, NOW + 25 * 3_600_000)
    expect(r.ok && r.kind === 'sightings' && r.dropped).toEqual({ stale: 6, future: 0 })
  })

  it('refuses a wrong secret without saying what it was', () => {
    const r = decodeMerakiPost(POST, body(wifi), NOW, undefined, { secret: 'other' })
    expect(r.ok ? 'ok' : r.reason).toBe('bad_meraki_secret')
    expect(r.ok ? '' : r.detail).not.toContain(SECRET)
  })

  it('does not compare the secret when the receiver checked it already (secret null)', () => {
    const r = decodeMerakiPost(POST, body({ ...wifi, secret: 'whatever' }), NOW, undefined, {
      secret: null,
    })
    expect(r.ok && r.kind).toBe('sightings')
  })

  it.each([
    ['a GET (the validator request)', { method: 'GET' }, body(wifi), 'bad_meraki_post'],
    ['a form body', { method: 'POST', contentType: 'text/plain' }, body(wifi), 'bad_meraki_post'],
    ['not JSON', POST, Buffer.from('{"version":'), 'bad_meraki_post'],
    ['version 2.0', POST, body({ ...wifi, version: '2.0' }), 'bad_meraki_post'],
    ['an unknown type', POST, body({ ...wifi, type: 'DevicesSeen' }), 'bad_meraki_post'],
    [
      'a client that is not a MAC',
      POST,
      body(withObservation({ clientMac: 'phone', latestRecord: null })),
      'bad_mac',
    ],
    [
      'an AP that is not a MAC',
      POST,
      body(
        withObservation({
          clientMac: 'dc:71:96:dd:47:94',
          latestRecord: { time: '2021-11-23T14:05:10Z', nearestApMac: 'ap-1', nearestApRssi: -70 },
        }),
      ),
      'bad_meraki_post',
    ],
    [
      'an RSSI above 0',
      POST,
      body(
        withObservation({
          clientMac: 'dc:71:96:dd:47:94',
          latestRecord: {
            time: '2021-11-23T14:05:10Z',
            nearestApMac: 'a8:46:9d:27:56:63',
            nearestApRssi: 47,
          },
        }),
      ),
      'bad_meraki_post',
    ],
  ])('refuses %s', (_name, request, payload, reason) => {
    const r = decodeMerakiPost(request, payload, NOW, undefined, { secret: SECRET })
    expect(r.ok ? 'ok' : r.reason).toBe(reason)
    expect(r.ok ? '' : r.detail).not.toMatch(/a8:46:9d|L_6749/i)
  })
})
