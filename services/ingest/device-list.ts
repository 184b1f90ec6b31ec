import { readFile, stat } from 'node:fs/promises'
import { DeviceListFileSchema } from '../shared/contracts/district.ts'
import { normaliseMac } from '../shared/contracts/mac.ts'
import { AppError } from '../shared/errors.ts'
import type { Logger } from '../shared/logger.ts'
import type { DeviceList } from './ingest-service.ts'

/**
 * Reads MIGLIO_DEVICE_LIST_FILE. Errors name the file and the entry's position, never a MAC; a file
 * readable by group or others is loaded with a warning (it holds raw device addresses).
 */
export async function loadDeviceList(path: string, log: Logger): Promise<DeviceList> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
    const mode = (await stat(path)).mode
    if (mode & 0o077)
      log.warn({ file: path }, 'the device list is readable by other users; chmod 600 it')
  } catch (err) {
    throw new AppError(
      'config_invalid',
      `MIGLIO_DEVICE_LIST_FILE ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    )
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new AppError('config_invalid', `MIGLIO_DEVICE_LIST_FILE ${path}: not valid JSON`)
  }
  const parsed = DeviceListFileSchema.safeParse(json)
  if (!parsed.success) {
    const lines = parsed.error.issues.slice(0, 10).map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new AppError(
      'config_invalid',
      `MIGLIO_DEVICE_LIST_FILE ${path} is invalid:\n${lines.join('\n')}`,
    )
  }
  const normalise = (list: string[], name: string) =>
    new Set(
      list.map((mac, i) => {
        const n = normaliseMac(mac)
        if (n === null)
          throw new AppError(
            'config_invalid',
            `MIGLIO_DEVICE_LIST_FILE ${path}: ${name}.${i} is not a MAC address`,
          )
        return n
      }),
    )
  const list = {
    deny: normalise(parsed.data.deny, 'deny'),
    allow: normalise(parsed.data.allow, 'allow'),
  }
  log.info({ deny: list.deny.size, allow: list.allow.size }, 'device list loaded')
  return list
}
