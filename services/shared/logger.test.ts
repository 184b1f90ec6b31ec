import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from './logger.ts'

function capture() {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { lines, log: createLogger({ level: 'info', destination }) }
}

describe(createLogger.name, () => {
  it('redacts a MAC in any field, message or error of a line', () => {
    const { lines, log } = capture()
    log.warn(
      { topic: 'home/gw/BTtoMQTT/7EFD7AE43166', err: 'bad 7e:fd-7a:e4:31:66' },
      'seen 7e-fd-7a-e4-31-66',
    )
    const line = lines.join('')
    expect(line).not.toMatch(/7e.?fd.?7a.?e4.?31.?66/i)
    expect(line.match(/xx:xx:xx:xx:xx:xx/g)).toHaveLength(3)
    expect(() => JSON.parse(line) as unknown).not.toThrow()
  })

  it('keeps a random UUID whole (a key id is not a MAC)', () => {
    const { lines, log } = capture()
    log.info({ keyId: '3f2b8c1e-9a4d-4c7b-8e21-bb7f5a3c9d10' }, 'key revoked')
    expect(JSON.parse(lines.join('')).keyId).toBe('3f2b8c1e-9a4d-4c7b-8e21-bb7f5a3c9d10')
  })
})
