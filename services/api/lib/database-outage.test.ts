import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../shared/logger.ts'
import { errorSummary, OutageLog } from './database-outage.ts'

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code })

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
