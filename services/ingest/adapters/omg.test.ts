import { describe, expect, it } from 'vitest'
import { decodeOmgMessage } from './omg.ts'
import { describeGoldenAndFuzz } from './golden-suite.ts'
import type { AdapterResult } from './common.ts'

const NOW = Date.parse('2026-11-21T10:15:05.000Z')
const TOPIC = 'home/OpenMQTTGateway/BTtoMQTT/45E174126E00'
const json = (v: unknown) => Buffer.from(JSON.stringify(v))

describeGoldenAndFuzz('omg', (c, topic, bytes) => decodeOmgMessage(topic ?? '', bytes, c.nowMs), {
  update: process.env.UPDATE_GOLDEN === '1',
})

function only(r: AdapterResult) {
  if (!r.ok || r.kind !== 'sightings')
    throw new Error(`expected sightings, got ${JSON.stringify(r)}`)
  return r.groups[0]!.sightings[0]!
}

describe(decodeOmgMessage.name, () => {
  it('stamps the arrival time: the format carries no timestamp', () => {
    expect(
      only(decodeOmgMessage(TOPIC, json({ id: '45:e1:74:12:6e:00', rssi: -89 }), NOW)).tMs,
    ).toBe(NOW)
  })

  it('marks Theengs RMAC and OMG mac_type 1 as randomised, a public address as not', () => {
    const mac = '45:e1:74:12:6e:00'
    expect(
      only(decodeOmgMessage(TOPIC, json({ id: mac, rssi: -80, type: 'RMAC' }), NOW)).randomised,
    ).toBe(true)
    expect(
      only(decodeOmgMessage(TOPIC, json({ id: mac, rssi: -80, mac_type: 1 }), NOW)).randomised,
    ).toBe(true)
    expect(
      only(decodeOmgMessage(TOPIC, json({ id: mac, rssi: -80, mac_type: 0 }), NOW)).randomised,
    ).toBe(false)
  })

  it('rounds a fractional RSSI and refuses one outside [-127, 0]', () => {
    expect(only(decodeOmgMessage(TOPIC, json({ rssi: -70.6 }), NOW)).rssi).toBe(-71)
    const r = decodeOmgMessage(TOPIC, json({ rssi: 12 }), NOW)
    expect(r.ok ? '' : r.reason).toBe('bad_omg_payload')
  })

  it.each([
    ['not JSON', TOPIC, Buffer.from('{"id":"45:e1:74:12:6e:00",'), 'bad_omg_payload'],
    ['a JSON array', TOPIC, json([1]), 'bad_omg_payload'],
    ['rssi as text', TOPIC, json({ id: '45:e1:74:12:6e:00', rssi: '-80' }), 'bad_omg_payload'],
    ['a bad LWT', 'home/OpenMQTTGateway/LWT', Buffer.from('maybe'), 'bad_omg_payload'],
    [
      'SYStoMQTT with uptime as text',
      'home/x/SYStoMQTT',
      json({ uptime: 'long' }),
      'bad_omg_payload',
    ],
    [
      'an address nowhere',
      'home/x/BTtoMQTT/1de4b189115e45f6b44e509352269977',
      json({ id: 'uuid', rssi: -70 }),
      'bad_mac',
    ],
    ['a topic of another module', 'home/x/433toMQTT', json({ value: 1 }), 'unknown_topic'],
    [
      'a wildcard in the gateway name',
      'home/+/BTtoMQTT/45E174126E00',
      json({ rssi: -70 }),
      'unknown_topic',
    ],
    ['a payload over 256 KiB', TOPIC, Buffer.alloc(256 * 1024 + 1, 0x20), 'oversized'],
  ])('refuses %s', (_name, topic, payload, reason) => {
    const r = decodeOmgMessage(topic, payload, NOW)
    expect(r.ok ? 'ok' : r.reason).toBe(reason)
  })

  it('reads the undecoded topics, ignores the settings echo', () => {
    const adv = json({
      id: '54:94:5E:9F:64:C4',
      mac_type: 1,
      manufacturerdata: '4c0010060319247bbc68',
      rssi: -74,
    })
    for (const topic of ['home/gw/BTtoMQTT/undecoded', 'home/gw/BTtoMQTT'])
      expect(only(decodeOmgMessage(topic, adv, NOW)).mac).toBe('54945e9f64c4')
    const settings = decodeOmgMessage(
      'home/gw/BTtoMQTT',
      json({ interval: 55555, minrssi: -100 }),
      NOW,
    )
    expect(settings.ok && settings.kind).toBe('ignored')
  })

  it('names the gateway by base topic and name', () => {
    const r = decodeOmgMessage(
      'district/home/Shop_12/BTtoMQTT/45E174126E00',
      json({ rssi: -70 }),
      NOW,
    )
    expect(r.ok && r.kind === 'sightings' && r.groups[0]!.source).toEqual({
      format: 'omg',
      baseTopic: 'district/home',
      name: 'Shop_12',
    })
  })
})
