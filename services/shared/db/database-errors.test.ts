import { describe, expect, it } from 'vitest'
import { isDatabaseUnavailable, isTransientDatabaseError } from './database-errors.ts'

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code })

describe(isDatabaseUnavailable.name, () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a connection timeout', withCode('ETIMEDOUT')],
    ['an unknown host', withCode('ENOTFOUND')],
    ['SQLSTATE 08006 (connection failure)', withCode('08006')],
    ['SQLSTATE 57P01 (admin shutdown)', withCode('57P01')],
    ['SQLSTATE 57P03 (cannot connect now: the server is starting up)', withCode('57P03')],
    ['SQLSTATE 57P05 (idle session timeout)', withCode('57P05')],
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

describe(isTransientDatabaseError.name, () => {
  it('retries an unavailable database and a lost race, not a failed statement', () => {
    expect(isTransientDatabaseError(withCode('57P03'))).toBe(true)
    expect(isTransientDatabaseError(withCode('40001'))).toBe(true)
    expect(isTransientDatabaseError(withCode('40P01'))).toBe(true)
    expect(isTransientDatabaseError(withCode('23505'))).toBe(false)
    expect(isTransientDatabaseError(new Error('refused for the test'))).toBe(false)
  })
})
