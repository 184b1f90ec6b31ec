import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { AppError } from '../errors.ts'
import { GATEWAY_ID_PATTERN } from '../contracts/topics.ts'
import { SERVICE_USERS, type BrokerAccounts } from './broker-acl.ts'

export const BROKER_CREDENTIALS_FILE = 'broker-credentials.json'

const Password = z.string().min(16, 'at least 16 characters').max(256)

const CredentialsFileSchema = z.object({
  about: z.string().optional(),
  services: z.object({
    [SERVICE_USERS.ingest]: Password,
    [SERVICE_USERS.api]: Password,
    [SERVICE_USERS.simulator]: Password,
  }),
  gateways: z
    .record(
      z
        .string()
        .regex(GATEWAY_ID_PATTERN, 'gateway ids are 1–64 lowercase letters, digits or -')
        .refine((id) => !id.startsWith('miglio-'), 'miglio-… names are reserved for services'),
      Password,
    )
    .default({}),
})

const ABOUT =
  'Users of the embedded MQTT broker of `miglio start` (generated once per data directory; keep ' +
  'this file private). A gateway connects with its gateway id as username: add "<gateway id>": ' +
  '"<password of 16+ characters>" under "gateways" and restart. `miglio simulate` and ' +
  '`miglio replay` connect as miglio-simulator. See README.md.'

const newPassword = () => randomBytes(24).toString('base64url')

/**
 * The embedded broker's users, from `<dataDir>/broker-credentials.json` (mode 600): created with
 * random passwords on the first start, reused afterwards so a configured gateway keeps working.
 */
export async function loadBrokerCredentials(
  dataDir: string,
): Promise<{ accounts: BrokerAccounts; path: string; created: boolean }> {
  const path = join(dataDir, BROKER_CREDENTIALS_FILE)
  let text: string | null
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    text = null
  }
  if (text !== null) {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    const parsed = CredentialsFileSchema.safeParse(json)
    if (!parsed.success) {
      // Name the fields, never their values (they are passwords).
      const problems = parsed.error.issues
        .map((i) => `  ${i.path.join('.') || '(file)'}: ${i.message}`)
        .join('\n')
      throw new AppError(
        'config_invalid',
        `${path} is not a valid broker credentials file (delete it to generate a new one):\n${problems}`,
      )
    }
    // Keep it private even if someone loosened it.
    await chmod(path, 0o600)
    return { accounts: parsed.data, path, created: false }
  }
  const accounts: BrokerAccounts = {
    services: {
      [SERVICE_USERS.ingest]: newPassword(),
      [SERVICE_USERS.api]: newPassword(),
      [SERVICE_USERS.simulator]: newPassword(),
    },
    gateways: {},
  }
  await mkdir(dataDir, { recursive: true })
  // 'wx': never overwrite a file another process created meanwhile.
  await writeFile(path, `${JSON.stringify({ about: ABOUT, ...accounts }, null, 2)}\n`, {
    mode: 0o600,
    flag: 'wx',
  })
  await chmod(path, 0o600)
  return { accounts, path, created: true }
}
