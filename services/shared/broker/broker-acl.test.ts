import { describe, expect, it } from 'vitest'
import { createBrokerAcl, filterCovered, topicMatches } from './broker-acl.ts'

const L = (t: string) => t.split('/')

const accounts = {
  services: {
    'miglio-ingest': 'ingest-password-123456',
    'miglio-api': 'api-password-1234567890',
    'miglio-simulator': 'simulator-password-123',
  },
  gateways: { 'gw-a': 'gateway-a-password-12' },
}

describe(topicMatches.name, () => {
  it.each([
    ['a/+/c', 'a/b/c', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/+', 'a/b/c', false],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['#', 'x/y', true],
  ])('%s matches %s: %s', (pattern, topic, expected) => {
    expect(topicMatches(L(pattern), L(topic))).toBe(expected)
  })
})

describe(filterCovered.name, () => {
  it.each([
    ['miglio/v1/gw/#', 'miglio/v1/gw/+/sightings', true],
    ['miglio/v1/gw/#', 'miglio/v1/gw/#', true],
    ['miglio/v1/gw/#', 'miglio/#', false],
    ['miglio/v1/gw/#', '#', false],
    ['miglio/v1/gw/#', '+/v1/gw/x/sightings', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/+/c', true],
    ['a/b/c', 'a/+/c', false],
    ['a/+/c', 'a/#', false],
  ])('%s covers %s: %s', (pattern, filter, expected) => {
    expect(filterCovered(L(pattern), L(filter))).toBe(expected)
  })
})

describe(createBrokerAcl.name, () => {
  const acl = createBrokerAcl(accounts, 'district-a')
  const gw = (id: string, kind = 'sightings') => `district-a/miglio/v1/gw/${id}/${kind}`
  const announce = 'district-a/miglio/v1/internal/transits-changed'

  it('knows each user by its own password only', () => {
    expect(acl.authenticate('gw-a', Buffer.from('gateway-a-password-12'))).toBe('gw-a')
    expect(acl.authenticate('miglio-api', Buffer.from('api-password-1234567890'))).toBe(
      'miglio-api',
    )
    expect(acl.authenticate('miglio-api', Buffer.from('gateway-a-password-12'))).toBeNull()
    expect(acl.authenticate('gw-b', Buffer.from('gateway-a-password-12'))).toBeNull()
    expect(acl.authenticate(undefined, undefined)).toBeNull()
    expect(acl.authenticate('gw-a', undefined)).toBeNull()
  })

  it('lets a gateway publish only under its own id and the prefix', () => {
    expect(acl.canPublish('gw-a', gw('gw-a'))).toBe(true)
    expect(acl.canPublish('gw-a', gw('gw-a', 'status'))).toBe(true)
    expect(acl.canPublish('gw-a', gw('gw-b'))).toBe(false)
    expect(acl.canPublish('gw-a', 'miglio/v1/gw/gw-a/sightings')).toBe(false)
    expect(acl.canPublish('gw-a', gw('gw-a', 'other'))).toBe(false)
    expect(acl.canSubscribe('gw-a', gw('gw-a'))).toBe(false)
  })

  it('gives the services what infra/mosquitto/acl gives them', () => {
    expect(acl.canSubscribe('miglio-ingest', gw('+'))).toBe(true)
    expect(acl.canSubscribe('miglio-ingest', `$share/ingest/${gw('+', 'status')}`)).toBe(true)
    expect(acl.canSubscribe('miglio-ingest', '#')).toBe(false)
    expect(acl.canSubscribe('miglio-ingest', '$share/ingest/#')).toBe(false)
    expect(acl.canRead('miglio-ingest', gw('gw-a'))).toBe(true)
    expect(acl.canPublish('miglio-ingest', announce)).toBe(true)
    expect(acl.canPublish('miglio-ingest', gw('gw-a'))).toBe(false)

    expect(acl.canSubscribe('miglio-api', announce)).toBe(true)
    expect(acl.canRead('miglio-api', gw('gw-a'))).toBe(false)
    expect(acl.canPublish('miglio-api', announce)).toBe(false)
    expect(acl.canPublish('miglio-api', 'district-a/miglio/v1/internal/meraki/L_1')).toBe(true)
    expect(acl.canPublish('miglio-api', 'miglio/v1/internal/meraki/L_1')).toBe(false)
    expect(acl.canPublish('miglio-api', 'district-a/miglio/v1/internal/meraki/L_1/x')).toBe(false)
    expect(acl.canPublish('miglio-api', gw('gw-a'))).toBe(false)
    expect(acl.canSubscribe('miglio-api', 'district-a/miglio/v1/internal/meraki/+')).toBe(false)
    expect(acl.canPublish('gw-a', 'district-a/miglio/v1/internal/meraki/L_1')).toBe(false)
    expect(acl.canPublish('miglio-simulator', 'district-a/miglio/v1/internal/meraki/L_1')).toBe(
      true,
    )

    expect(acl.canPublish('miglio-simulator', gw('any-gateway', 'status'))).toBe(true)
    expect(acl.canSubscribe('miglio-simulator', gw('+'))).toBe(false)
    expect(acl.canSubscribe('miglio-simulator', '$SYS/#')).toBe(false)
    expect(acl.canRead('miglio-simulator', gw('gw-a'))).toBe(false)
  })

  it('lets only the API (and the simulator standing for it) write Meraki posts, only ingest read them', () => {
    const post = 'district-a/miglio/v1/internal/meraki/L_674976994152158449'
    expect(acl.canPublish('miglio-api', post)).toBe(true)
    expect(acl.canPublish('miglio-simulator', post)).toBe(true)
    expect(acl.canPublish('miglio-ingest', post)).toBe(false)
    expect(acl.canPublish('gw-a', post)).toBe(false)
    expect(acl.canSubscribe('miglio-ingest', 'district-a/miglio/v1/internal/meraki/+')).toBe(true)
    expect(
      acl.canSubscribe('miglio-ingest', '$share/ingest/district-a/miglio/v1/internal/meraki/+'),
    ).toBe(true)
    expect(acl.canRead('miglio-ingest', post)).toBe(true)
    expect(acl.canRead('miglio-api', post)).toBe(false)
    expect(acl.canSubscribe('miglio-api', 'district-a/miglio/v1/internal/meraki/+')).toBe(false)
    expect(acl.canRead('gw-a', post)).toBe(false)
    expect(acl.canPublish('miglio-api', 'district-a/miglio/v1/internal/meraki/a/b')).toBe(false)
  })

  it('without a prefix, uses the protocol topics as they are', () => {
    const plain = createBrokerAcl(accounts)
    expect(plain.canPublish('gw-a', 'miglio/v1/gw/gw-a/sightings')).toBe(true)
    expect(plain.canSubscribe('miglio-ingest', 'miglio/v1/gw/+/sightings')).toBe(true)
  })
})
