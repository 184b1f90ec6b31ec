import { describe, expect, it } from 'vitest'
import type { MqttClient } from 'mqtt'
import { TransitsChangedSchema } from '../shared/contracts/gateway-messages.ts'
import type { StoredTransits } from './model.ts'
import { announcementBody, createTransitsAnnouncer } from './transits-changed.ts'

const B = 1_765_098_000_000

function stored(): StoredTransits {
  return {
    visitors: 3,
    passersBy: 2,
    zones: new Set(['shop-one', 'street-a']),
    live: {
      xid: '4242',
      zones: new Map([
        [
          'shop-one',
          new Map([
            [B, { passersBy: 0, visitors: 2 }],
            [B + 10_000, { passersBy: 0, visitors: 1 }],
          ]),
        ],
        ['street-a', new Map([[B, { passersBy: 2, visitors: 0 }]])],
      ]),
    },
  }
}

/** Stands in for an MQTT.js client (a library we do not own): records what is published. */
function fakeClient(connected = true) {
  const published: { topic: string; body: unknown; qos: number }[] = []
  const client = {
    connected,
    publish(topic: string, payload: string, opts: { qos: number }) {
      published.push({ topic, body: JSON.parse(payload), qos: opts.qos })
    },
  }
  return { client, published }
}

describe(announcementBody.name, () => {
  it('carries what a commit stored per zone and live bucket, with its transaction', () => {
    const body = announcementBody(stored(), 'ingest-a', 7)
    expect(body).toEqual({
      v: 2,
      instance: 'ingest-a',
      seq: 7,
      xid: '4242',
      zones: [
        {
          id: 'shop-one',
          b: [
            [B, 0, 2],
            [B + 10_000, 0, 1],
          ],
        },
        { id: 'street-a', b: [[B, 2, 0]] },
      ],
    })
    expect(TransitsChangedSchema.parse(body)).toEqual(body)
  })

  it('asks for a resync of zones given without counts', () => {
    const body = announcementBody(new Set(['street-a']), 'ingest-a', 8)
    expect(body).toEqual({ v: 2, instance: 'ingest-a', seq: 8, zones: [], resync: ['street-a'] })
    expect(TransitsChangedSchema.parse(body)).toEqual(body)
  })

  it('announces nothing when nothing was stored', () => {
    expect(announcementBody({ visitors: 0, passersBy: 0, zones: new Set() }, 'i', 1)).toBeNull()
  })
})

describe(createTransitsAnnouncer.name, () => {
  it('numbers its announcements consecutively, QoS 0, on the prefixed topic', () => {
    const { client, published } = fakeClient()
    const sut = createTransitsAnnouncer(client as unknown as MqttClient, 'pre', { firstSeq: 41 })
    sut.announce(stored())
    sut.announce({ visitors: 0, passersBy: 0, zones: new Set() })
    sut.announce(stored())
    expect(published.map((p) => [p.topic, p.qos, (p.body as { seq: number }).seq])).toEqual([
      ['pre/miglio/v1/internal/transits-changed', 0, 41],
      ['pre/miglio/v1/internal/transits-changed', 0, 42],
    ])
    expect(new Set(published.map((p) => (p.body as { instance: string }).instance))).toEqual(
      new Set([sut.instance]),
    )
  })

  it('spends a number on an announcement it cannot publish, so the API sees the gap', () => {
    const { client, published } = fakeClient(false)
    const sut = createTransitsAnnouncer(client as unknown as MqttClient, undefined, { firstSeq: 5 })
    sut.announce(stored())
    client.connected = true
    sut.announce(stored())
    expect(published.map((p) => (p.body as { seq: number }).seq)).toEqual([6])
  })

  it('starts each process at a random instance and number', () => {
    const { client } = fakeClient()
    const a = createTransitsAnnouncer(client as unknown as MqttClient, undefined)
    const b = createTransitsAnnouncer(client as unknown as MqttClient, undefined)
    expect(a.instance).not.toBe(b.instance)
  })
})
