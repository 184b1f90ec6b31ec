import { isAbsolute } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EnvSchema, loadConfig } from './config.ts'
import { AppError } from './errors.ts'

function configError(env: Record<string, string | undefined>): AppError {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof AppError) return error
    throw error
  }
  throw new Error('expected loadConfig to throw')
}

const lineFor = (error: AppError, key: string) =>
  error.message.split('\n').filter((line) => line.trimStart().startsWith(`${key}:`))

describe(loadConfig.name, () => {
  describe('defaults', () => {
    const sut = loadConfig({})

    it('runs without a database or broker URL (embedded mode)', () => {
      expect(sut.db.url).toBeUndefined()
      expect(sut.mqtt.url).toBeUndefined()
    })

    it('listens on 127.0.0.1:3000', () => {
      expect(sut.http).toEqual({ host: '127.0.0.1', port: 3000 })
    })

    it('uses Europe/Rome, MQTT v4 and no share group', () => {
      expect(sut.tz).toBe('Europe/Rome')
      expect(sut.mqtt.protocolVersion).toBe(4)
      expect(sut.mqtt.shareGroup).toBeUndefined()
    })

    it('converts the ingest durations to milliseconds and serves ingest metrics on 9464', () => {
      expect(sut.ingest).toEqual({
        gapMs: 120_000,
        idleCloseMs: 180_000,
        keyGraceMs: 7_200_000,
        metricsPort: 9464,
        staticAfterMs: 4 * 3_600_000,
        deviceListFile: undefined,
        microBatch: { windowMs: 1000, maxSightings: 500 },
        flood: { messagesPerS: 100, sightingsPerS: 2000 },
        commitLanes: 4,
        checkpointMs: 10_000,
      })
    })

    it('enables the simulator with seed 42 and a 2 h backfill, and demo keys', () => {
      expect(sut.simulator).toEqual({
        enabled: true,
        seed: 42,
        backfillMs: 7_200_000,
        historyDays: 56,
        flatDay: false,
      })
      expect(sut.demoKeys).toBe(true)
    })

    it('resolves the data dir to an absolute .miglio path', () => {
      expect(isAbsolute(sut.db.dataDir)).toBe(true)
      expect(sut.db.dataDir.endsWith('.miglio')).toBe(true)
    })

    it('derives a valid MQTT client id', () => {
      expect(sut.mqtt.clientId).toMatch(/^miglio-ingest-[A-Za-z0-9_-]*$/)
      expect(sut.mqtt.clientId.length).toBeLessThanOrEqual(64)
    })

    it('uses the info log level, auto jobs mode and the Mestre district', () => {
      expect(sut.log.level).toBe('info')
      expect(sut.jobs.mode).toBe('auto')
      expect(sut.districtFile).toBe('simulator/districts/mestre.json')
    })
  })

  describe('valid settings', () => {
    it('maps the flat keys into the nested config', () => {
      const sut = loadConfig({
        DATABASE_URL: 'postgresql://miglio@db:5432/miglio',
        MQTT_URL: 'mqtts://broker:8883',
        PORT: '8080',
        MQTT_CLIENT_ID: 'ingest-a',
        TRANSIT_GAP_S: '60',
        KEY_GRACE_H: '0.5',
        SIM_BACKFILL: '30m',
      })
      expect(sut.db.url).toBe('postgresql://miglio@db:5432/miglio')
      expect(sut.mqtt.url).toBe('mqtts://broker:8883')
      expect(sut.mqtt.clientId).toBe('ingest-a')
      expect(sut.http.port).toBe(8080)
      expect(sut.ingest.gapMs).toBe(60_000)
      expect(sut.ingest.keyGraceMs).toBe(1_800_000)
      expect(sut.simulator.backfillMs).toBe(1_800_000)
    })

    it.each([
      [undefined, false],
      ['false', false],
      ['true', true],
      ['10.0.0.5', ['10.0.0.5']],
      ['loopback, uniquelocal', ['loopback', 'uniquelocal']],
      ['10.0.0.0/8, fd00::/8 ,127.0.0.1', ['10.0.0.0/8', 'fd00::/8', '127.0.0.1']],
    ])('reads API_TRUST_PROXY=%s as %j', (value, trustProxy) => {
      expect(loadConfig({ API_TRUST_PROXY: value }).api.trustProxy).toEqual(trustProxy)
    })

    it.each(['yes', '0', '2', '10.0.0.0/33', 'proxy.example', '1.2.3.4/8/8'])(
      'refuses API_TRUST_PROXY=%s, naming the key',
      (value) => {
        expect(lineFor(configError({ API_TRUST_PROXY: value }), 'API_TRUST_PROXY')).toHaveLength(1)
      },
    )

    it.each([
      ['30m', 30 * 60_000],
      ['2h', 2 * 3_600_000],
      ['1d', 86_400_000],
    ])('reads SIM_BACKFILL %s as %i ms', (value, ms) => {
      expect(loadConfig({ SIM_BACKFILL: value }).simulator.backfillMs).toBe(ms)
    })

    it.each([
      ['8w', 56],
      ['30d', 30],
      ['0', 0],
    ])('reads SIM_HISTORY %s as %i days', (value, days) => {
      expect(loadConfig({ SIM_HISTORY: value }).simulator.historyDays).toBe(days)
    })

    it('writes 8 weeks of demo history by default', () => {
      expect(loadConfig({}).simulator.historyDays).toBe(56)
    })

    it.each([
      ['false', false],
      ['0', false],
      ['true', true],
      ['1', true],
    ])('reads SIMULATOR=%s as %s', (value, enabled) => {
      expect(loadConfig({ SIMULATOR: value }).simulator.enabled).toBe(enabled)
    })

    it('reads DEMO_KEYS=false as false', () => {
      expect(loadConfig({ DEMO_KEYS: 'false' }).demoKeys).toBe(false)
    })

    it('treats an empty DATABASE_URL or MQTT_URL as unset', () => {
      const sut = loadConfig({ DATABASE_URL: '', MQTT_URL: '' })
      expect(sut.db.url).toBeUndefined()
      expect(sut.mqtt.url).toBeUndefined()
    })

    it('accepts a share group with MQTT v5', () => {
      const sut = loadConfig({ INGEST_SHARE_GROUP: 'ingest', MQTT_PROTOCOL_VERSION: '5' })
      expect(sut.mqtt).toMatchObject({ protocolVersion: 5, shareGroup: 'ingest' })
    })

    it.each(['0', '65535'])('accepts PORT %s', (port) => {
      expect(loadConfig({ PORT: port }).http.port).toBe(Number(port))
    })
  })

  describe('invalid settings', () => {
    it('reports every bad key on its own line, naming the key', () => {
      const error = configError({
        DATABASE_URL: 'mysql://u:s3cret@h/db',
        PORT: 'abc',
        MIGLIO_TZ: 'Mars/Base',
        SIMULATOR: 'maybe',
        SIM_BACKFILL: '2 hours',
      })
      expect(error.code).toBe('config_invalid')
      for (const key of ['DATABASE_URL', 'PORT', 'MIGLIO_TZ', 'SIMULATOR', 'SIM_BACKFILL']) {
        expect(lineFor(error, key), key).toHaveLength(1)
      }
    })

    it.each([
      ['DATABASE_URL', 'mysql://u:s3cret@h/db'],
      ['DATABASE_URL', 'not a url'],
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['PORT', '-1'],
      ['PORT', '80.5'],
      ['MIGLIO_TZ', 'Mars/Base'],
      ['SIMULATOR', 'maybe'],
      ['SIM_BACKFILL', '2 hours'],
      ['SIM_BACKFILL', '2w'],
      ['SIM_HISTORY', '12h'],
      ['SIM_HISTORY', '60w'],
      ['MQTT_URL', 'http://broker'],
      ['MQTT_PROTOCOL_VERSION', '3'],
      ['LOG_LEVEL', 'verbose'],
      ['TRANSIT_GAP_S', '5'],
    ])('rejects %s=%j on a line naming the key', (key, value) => {
      const error = configError({ [key]: value })
      expect(error.code).toBe('config_invalid')
      expect(lineFor(error, key)).toHaveLength(1)
    })

    it('only names the keys that are bad', () => {
      const error = configError({ PORT: '70000', HOST: '0.0.0.0', MIGLIO_TZ: 'UTC' })
      expect(error.message).toContain('PORT')
      expect(error.message).not.toContain('HOST')
      expect(error.message).not.toContain('MIGLIO_TZ')
    })

    it.each([
      ['mysql://u:s3cret@h/db', { PORT: 'abc' }],
      ['postgres://u:s3cret@h:99999/db', {}],
      ['postgres://u:s3cret@h/db', { PORT: 'abc', SIMULATOR: 'maybe' }],
    ])('never puts the DATABASE_URL %s in the message', (url, others) => {
      const error = configError({ DATABASE_URL: url, ...others })
      expect(error.message).not.toContain('s3cret')
      expect(error.message).not.toContain(url)
      expect(error.message).not.toContain('u:s3cret@')
    })

    it('refuses DATABASE_READ_URL without DATABASE_URL, and keeps both when both are set', () => {
      const replica = 'postgres://reader:r3plica@replica.example:5432/miglio'
      const error = configError({ DATABASE_READ_URL: replica })
      expect(error.code).toBe('config_invalid')
      expect(lineFor(error, 'DATABASE_READ_URL')[0]).toContain('needs DATABASE_URL')
      expect(error.message).not.toContain('r3plica')
      const sut = loadConfig({
        DATABASE_URL: 'postgres://miglio:s3cret@db.example:5432/miglio',
        DATABASE_READ_URL: replica,
      })
      expect(sut.db.readUrl).toBe(replica)
      expect(loadConfig({}).db.readUrl).toBeUndefined()
      expect(
        configError({ DATABASE_URL: 'postgres://db/x', DATABASE_READ_URL: 'http://x' }).message,
      ).toContain('DATABASE_READ_URL')
    })

    it('refuses INGEST_SHARE_GROUP without MQTT_PROTOCOL_VERSION=5', () => {
      const error = configError({ INGEST_SHARE_GROUP: 'ingest' })
      expect(error.code).toBe('config_invalid')
      expect(lineFor(error, 'INGEST_SHARE_GROUP')[0]).toContain('MQTT_PROTOCOL_VERSION=5')
      expect(() =>
        loadConfig({ INGEST_SHARE_GROUP: 'ingest', MQTT_PROTOCOL_VERSION: '4' }),
      ).toThrow(AppError)
    })
  })
})

describe('the Meraki receiver', () => {
  const secret = 'Sh4red-s3cret-of-the-network'

  it('is off unless both MERAKI_VALIDATOR and MERAKI_SECRET are set', () => {
    expect(loadConfig({}).meraki).toBeNull()
    expect(
      loadConfig({ MERAKI_VALIDATOR: '91473298742319492749273285409845', MERAKI_SECRET: secret })
        .meraki,
    ).toEqual({
      validator: '91473298742319492749273285409845',
      secret,
      bodyLimitBytes: 4 * 1024 * 1024,
    })
  })

  it('takes the secret as it is (no trimming) and its own body limit', () => {
    const sut = loadConfig({
      MERAKI_VALIDATOR: 'v4lidator',
      MERAKI_SECRET: ` ${secret} `,
      MERAKI_BODY_LIMIT_BYTES: '1048576',
    })
    expect(sut.meraki).toEqual({
      validator: 'v4lidator',
      secret: ` ${secret} `,
      bodyLimitBytes: 1_048_576,
    })
  })

  it.each([
    [{ MERAKI_SECRET: secret }, 'MERAKI_VALIDATOR'],
    [{ MERAKI_VALIDATOR: 'v4lidator' }, 'MERAKI_SECRET'],
  ])('refuses one without the other, naming the missing key', (env, missing) => {
    const error = configError(env)
    expect(lineFor(error, missing)[0]).toContain('needed as well')
    expect(error.message).not.toContain(secret)
  })

  it.each([
    [{ MERAKI_VALIDATOR: 'v4lidator', MERAKI_SECRET: 'short' }, 'MERAKI_SECRET', 'short'],
    [{ MERAKI_VALIDATOR: 'has space', MERAKI_SECRET: secret }, 'MERAKI_VALIDATOR', 'has space'],
    [
      { MERAKI_VALIDATOR: 'v4lidator', MERAKI_SECRET: secret, MERAKI_BODY_LIMIT_BYTES: '1000' },
      'MERAKI_BODY_LIMIT_BYTES',
      '1000',
    ],
  ])('refuses a bad value without quoting it (%#)', (env, key, value) => {
    const error = configError(env)
    expect(lineFor(error, key)).toHaveLength(1)
    expect(error.message).not.toContain(value === '1000' ? secret : value)
    expect(error.message).not.toContain(secret)
  })
})

describe('empty values', () => {
  it('treats every KEY= as unset, as .env.example and compose files write them', () => {
    const empty = Object.fromEntries(Object.keys(EnvSchema.shape).map((k) => [k, '']))
    const config = loadConfig(empty)
    expect(config.mqtt.url).toBeUndefined()
    expect(config.mqtt.shareGroup).toBeUndefined()
    expect(config.mqtt.clientId).toMatch(/^miglio-ingest-/)
    expect(config.http.port).toBe(3000)
    expect(config.simulator.enabled).toBe(true)
  })
})
