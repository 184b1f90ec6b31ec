import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../shared/logger.ts'
import { errorSummary, isDatabaseUnavailable, OutageLog } from './database-outage.ts'

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code })

describe(isDatabaseUnavailable.name, () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a connection timeout', withCode('ETIMEDOUT')],
    ['an unknown host', withCode('ENOTFOUND')],
    ['SQLSTATE 08006 (connection failure)', withCode('08006')],
    ['SQLSTATE 57P01 (admin shutdown)', withCode('57P01')],
    ['SQLSTATE 57P03 (cannot connect now)', withCode('57P03')],
    ['SQLSTATE 53300 (too many connections)', withCode('53300')],
    ['the pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    ['a refusal inside an AggregateError', new AggregateError([withCode('ECONNREFUSED')], '')],
    ['a refusal as the cause', new Error('wrapped', { cause: withCode('ECONNREFUSED') })],
  ])('%s: yes', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true)
  })

  it.each([
    ['a syntax error', withCode('42601')],
    ['invalid text (a NUL byte)', withCode('22021')],
    ['a unique violation', withCode('23505')],
    ['a plain error', new Error('boom')],
    ['not an error', 'ECONNREFUSED'],
    ['null', null],
  ])('%s: no', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false)
  })
})

describe(errorSummary.name, () => {
  it('gives code and message, or the first nested message of an AggregateError', () => {
    expect(errorSummary(withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'))).toEqual({
      code: 'ECONNREFUSED',
      message: 'connect ECONNREFUSED 127.0.0.1:1',
    })
    expect(errorSummary(new AggregateError([new Error('inner')], ''))).toEqual({ message: 'inner' })
  })
})

describe(OutageLog.name, () => {
  it('logs once per interval while the outage lasts, and again at once after a recovery', () => {
    const lines: { msg: string; suppressedSinceLast?: number }[] = []
    const log = createLogger({
      level: 'info',
      destination: new Writable({
        write(chunk: Buffer, _e, cb) {
          lines.push(JSON.parse(chunk.toString()) as { msg: string })
          cb()
        },
      }),
    })
    let now = 0
    const outage = new OutageLog(log, { intervalMs: 30_000, now: () => now })
    const err = withCode('ECONNREFUSED')
    for (; now < 29_000; now += 1000) outage.report(err, 'test')
    expect(lines).toHaveLength(1)
    now = 31_000
    outage.report(err, 'test')
    expect(lines).toHaveLength(2)
    expect(lines[1]?.suppressedSinceLast).toBe(28)
    outage.recovered()
    outage.recovered()
    expect(lines.map((l) => l.msg).filter((m) => m === 'database reachable again')).toHaveLength(1)
    outage.report(err, 'test')
    expect(lines).toHaveLength(4)
  })
})
