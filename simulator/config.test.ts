import { describe, expect, it } from 'vitest'
import { parseSimulateOptions, parseTimeSpec, resolveWindow } from './config.ts'

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
      mqttUrl: 'mqtt://127.0.0.1:1883',
    })
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
      /district: path to a district JSON file is required[\s\S]*seed: must be an integer[\s\S]*speed: must be 'max' or a number[\s\S]*from: must be an ISO-8601 time[\s\S]*scenario: must be 'simple' or 'demo'[\s\S]*mqttUrl: must be a broker URL/,
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
