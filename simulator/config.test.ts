import { describe, expect, it } from 'vitest'
import {
  parseDurationS,
  parseEventSpec,
  parseLoadOptions,
  parseReplayOptions,
  parseSimulateOptions,
  parseTimeSpec,
  resolveWindow,
} from './config.ts'

const NOW = Date.parse('2026-11-21T12:00:00Z')

describe(parseSimulateOptions.name, () => {
  it('fills defaults for a live demo run', () => {
    expect(parseSimulateOptions({ district: 'simulator/districts/mestre.json' })).toEqual({
      district: 'simulator/districts/mestre.json',
      seed: 1,
      speed: 1,
      from: 'now',
      to: 'never',
      scenario: 'demo',
      merakiSecret: 'miglio-simulated-secret',
      mqttUrl: 'mqtt://127.0.0.1:1883',
    })
  })

  it('takes a gateway format for every gateway and refuses an unknown one', () => {
    const d = { district: 'd.json' }
    expect(parseSimulateOptions({ ...d, format: 'omg' }).format).toBe('omg')
    expect(() => parseSimulateOptions({ ...d, format: 'zigbee' })).toThrow(/format: must be one of/)
  })

  it('accepts CLI strings', () => {
    const sut = parseSimulateOptions({
      district: 'd.json',
      seed: '42',
      speed: '60',
      from: '-2h',
      to: 'now',
      scenario: 'simple',
      truthOut: 'truth.jsonl',
      mqttUrl: 'mqtts://broker.example:8883',
    })
    expect(sut).toMatchObject({ seed: 42, speed: 60, scenario: 'simple', truthOut: 'truth.jsonl' })
    expect(parseSimulateOptions({ district: 'd.json', speed: 'max' }).speed).toBe('max')
  })

  it('names every invalid option in one error', () => {
    expect(() =>
      parseSimulateOptions({
        seed: '1.5',
        speed: 'fast',
        from: 'yesterday',
        scenario: 'busy',
        mqttUrl: 'http://x',
      }),
    ).toThrow(
      /district: path to a district JSON file is required[\s\S]*seed: must be an integer[\s\S]*speed: must be 'max' or a number[\s\S]*from: must be an ISO-8601 time[\s\S]*scenario: must be 'simple', 'demo' or 'realistic'[\s\S]*mqttUrl: must be a broker URL/,
    )
    expect(() => parseSimulateOptions({ district: 'd.json', speed: 200_000 })).toThrow(/speed/)
    expect(() => parseSimulateOptions({ district: 'd.json', speed: 0 })).toThrow(/speed/)
  })
})

describe(parseTimeSpec.name, () => {
  it('reads now, relative times, ISO times and never', () => {
    expect(parseTimeSpec('now', NOW)).toBe(NOW)
    expect(parseTimeSpec('-2h', NOW)).toBe(NOW - 7_200_000)
    expect(parseTimeSpec('+30m', NOW)).toBe(NOW + 1_800_000)
    expect(parseTimeSpec('-90s', NOW)).toBe(NOW - 90_000)
    expect(parseTimeSpec('-1.5d', NOW)).toBe(NOW - 129_600_000)
    expect(parseTimeSpec('2026-11-21T10:15:00+01:00', NOW)).toBe(Date.parse('2026-11-21T09:15:00Z'))
    expect(parseTimeSpec('never', NOW)).toBe(Infinity)
    expect(parseTimeSpec('2h', NOW)).toBeNull()
    expect(parseTimeSpec('tomorrow', NOW)).toBeNull()
  })
})

describe(resolveWindow.name, () => {
  it('resolves the window against now', () => {
    expect(resolveWindow({ from: '-2h', to: 'now' }, NOW)).toEqual({
      fromMs: NOW - 7_200_000,
      toMs: NOW,
    })
    expect(resolveWindow({ from: 'now', to: 'never' }, NOW)).toEqual({
      fromMs: NOW,
      toMs: Infinity,
    })
  })

  it('refuses an empty or reversed window', () => {
    expect(() => resolveWindow({ from: 'now', to: '-1h' }, NOW)).toThrow(/to: must be after from/)
    expect(() => resolveWindow({ from: 'never', to: 'never' }, NOW)).toThrow(/from/)
  })
})

describe('fault, event, load and replay options', () => {
  it('checks the faults spec and explains each bad item', () => {
    expect(
      parseSimulateOptions({ district: 'd.json', faults: 'reboot:gw-1@15m,duplicates=0.02' })
        .faults,
    ).toBe('reboot:gw-1@15m,duplicates=0.02')
    expect(() =>
      parseSimulateOptions({ district: 'd.json', faults: 'offline:gw-1@10m, duplicates=3' }),
    ).toThrow(
      /faults: 'offline:gw-1@10m': expected offline:<gateway>@<from>-<to>[\s\S]*faults: 'duplicates=3': rate must be in \[0, 1\]/,
    )
  })

  it('reads events relative to the run start or as ISO times', () => {
    const from = Date.parse('2026-11-21T09:00:00Z')
    expect(parseEventSpec('piazza-ferretto,+1h,+3h,2.5', from, NOW)).toEqual({
      zoneId: 'piazza-ferretto',
      fromMs: from + 3_600_000,
      toMs: from + 3 * 3_600_000,
      factor: 2.5,
    })
    expect(
      parseEventSpec('via-palazzo,2026-11-21T10:00:00Z,2026-11-21T11:00:00Z,2', from, NOW),
    ).toMatchObject({ fromMs: Date.parse('2026-11-21T10:00:00Z'), factor: 2 })
    expect(parseEventSpec('piazza-ferretto,+3h,+1h,2', from, NOW)).toBeNull()
    expect(parseEventSpec('piazza-ferretto,+1h,+3h,0.5', from, NOW)).toBeNull()
    expect(() => parseSimulateOptions({ district: 'd.json', events: ['piazza,+1h'] })).toThrow(
      /events\.0: must be <zone>,<from>,<to>,<factor>/,
    )
  })

  it('validates load options', () => {
    expect(
      parseLoadOptions({ gateways: '100', sightingsPerSecond: '5000', durationS: '10m' }),
    ).toMatchObject({
      gateways: 100,
      sightingsPerSecond: 5000,
      durationS: 600,
      devices: 1000,
      speed: 1,
    })
    expect(parseDurationS('1.5h')).toBe(5400)
    expect(parseDurationS('90')).toBe(90)
    expect(parseDurationS('soon')).toBeNull()
    expect(() =>
      parseLoadOptions({
        gateways: 0,
        sightingsPerSecond: 'lots',
        durationS: 'forever',
        speed: 'fast',
      }),
    ).toThrow(
      /gateways: must be between 1 and 10000[\s\S]*rate \(sightings per second\): must be a number[\s\S]*duration: must be a duration[\s\S]*speed: must be 'max'/,
    )
  })

  it('validates replay options', () => {
    expect(parseReplayOptions({ file: 'x.csv', gateway: 'gw-lab' })).toEqual({
      file: 'x.csv',
      format: 'auto',
      gateway: 'gw-lab',
      speed: 1,
      keepTime: false,
      tz: 'Europe/Rome',
      batchIntervalS: 5,
      mqttUrl: 'mqtt://127.0.0.1:1883',
    })
    expect(() =>
      parseReplayOptions({
        file: 'x.csv',
        gateway: 'GW 1',
        speed: '0',
        tz: 'Mars/Olympus',
        format: 'pcap',
      }),
    ).toThrow(
      /format: must be 'auto', 'jsonl' or 'csv'[\s\S]*gateway: must be a gateway id[\s\S]*speed: must be 'max'[\s\S]*tz: must be an IANA time zone/,
    )
  })
})
