import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { createLogger } from '../shared/logger.ts'
import { loadDeviceList } from './device-list.ts'

let dir: string
const lines: string[] = []
const log = createLogger({
  level: 'info',
  destination: new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString())
      cb()
    },
  }),
})

async function file(name: string, content: string, mode = 0o600): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, content)
  await chmod(path, mode)
  return path
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'miglio-devices-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe(loadDeviceList.name, () => {
  it('normalises every MAC of both lists', async () => {
    const path = await file(
      'ok.json',
      JSON.stringify({ deny: ['AA-BB-CC-DD-EE-01', 'aabbccddee02'], allow: ['aa:bb:cc:dd:ee:03'] }),
    )
    const list = await loadDeviceList(path, log)
    expect([...list.deny]).toEqual(['aabbccddee01', 'aabbccddee02'])
    expect([...list.allow]).toEqual(['aabbccddee03'])
  })

  it('names the entry of a bad MAC without echoing it', async () => {
    const path = await file(
      'bad.json',
      JSON.stringify({ deny: ['aa:bb:cc:dd:ee:01', 'zz:bb:cc:dd:ee:02'] }),
    )
    const err = await loadDeviceList(path, log).catch((e: Error) => e)
    expect(err).toMatchObject({ code: 'config_invalid' })
    expect((err as Error).message).toContain('deny.1 is not a MAC address')
    expect((err as Error).message).not.toContain('zz:bb')
  })

  it('rejects invalid JSON and a missing file with the file named', async () => {
    const broken = await file('broken.json', '{"deny": [')
    await expect(loadDeviceList(broken, log)).rejects.toThrow(`${broken}: not valid JSON`)
    await expect(loadDeviceList(join(dir, 'missing.json'), log)).rejects.toThrow(
      /missing\.json: cannot read \(ENOENT\)/,
    )
  })

  it('warns when other users can read the file', async () => {
    const path = await file('open.json', '{"deny": []}', 0o644)
    await loadDeviceList(path, log)
    expect(lines.join('')).toContain('readable by other users')
  })
})
