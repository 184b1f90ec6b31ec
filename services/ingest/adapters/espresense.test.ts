import { describe, expect, it } from 'vitest'
import { decodeEspresenseMessage } from './espresense.ts'
import { describeGoldenAndFuzz } from './golden-suite.ts'

const NOW = Date.parse('2026-11-21T10:15:05.000Z')
const TOPIC = 'espresense/devices/watch:darrell/basement'
const json = (v: unknown) => Buffer.from(JSON.stringify(v))

describeGoldenAndFuzz(
  'espresense',
  (c, topic, bytes) => decodeEspresenseMessage(topic ?? '', bytes, c.nowMs),
  { update: process.env.UPDATE_GOLDEN === '1' },
)

describe(decodeEspresenseMessage.name, () => {
  it('takes the room from the topic and the address from mac, at arrival time', () => {
    const r = decodeEspresenseMessage(
      TOPIC,
      json({ mac: '58b1294494d3', id: 'watch:darrell', rssi: -86.4 }),
      NOW,
    )
    expect(r.ok && r.kind === 'sightings' && r.groups).toEqual([
      {
        source: { format: 'espresense', room: 'basement' },
        sightings: [{ tMs: NOW, mac: '58b1294494d3', rssi: -86, radio: 'ble', randomised: false }],
      },
    ])
  })

  it('ignores a device report without rssi instead of dead-lettering it', () => {
    const r = decodeEspresenseMessage(
      TOPIC,
      json({ mac: '58b1294494d3', id: 'watch:darrell' }),
      NOW,
    )
    expect(r.ok && r.kind).toBe('ignored')
  })

  it.each([
    ['not JSON', TOPIC, Buffer.from('{"mac":'), 'bad_espresense_payload'],
    ['rssi above 0 dBm', TOPIC, json({ mac: '58b1294494d3', rssi: 4 }), 'bad_espresense_payload'],
    ['rssi as text', TOPIC, json({ mac: '58b1294494d3', rssi: '-80' }), 'bad_espresense_payload'],
    ['no address', TOPIC, json({ id: 'apple:iphone13-2', rssi: -80 }), 'bad_mac'],
    [
      'a bad status',
      'espresense/rooms/study/status',
      Buffer.from('available'),
      'bad_espresense_payload',
    ],
    [
      'telemetry with uptime as text',
      'espresense/rooms/study/telemetry',
      json({ uptime: 'x' }),
      'bad_espresense_payload',
    ],
    ['a topic outside espresense/', 'other/devices/x/kitchen', json({}), 'unknown_topic'],
    ['a wildcard room', 'espresense/devices/x/+', json({}), 'unknown_topic'],
  ])('refuses %s', (_name, topic, payload, reason) => {
    const r = decodeEspresenseMessage(topic, payload, NOW)
    expect(r.ok ? 'ok' : r.reason).toBe(reason)
  })

  it('never quotes the device id of the topic, which may be an address', () => {
    const r = decodeEspresenseMessage(
      'espresense/devices/244b03d72780/kitchen',
      json({ rssi: -80 }),
      NOW,
    )
    expect(r.ok ? '' : r.detail).not.toMatch(/244b03d72780/i)
    expect(r.ok ? '' : r.reason).toBe('bad_mac')
  })
})
