import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { ESLint } from 'eslint'
import { beforeAll, describe, expect, it } from 'vitest'

// The arrows of the house (docs/architecture.md) are enforced by eslint.config.js (`miglio/arrows`):
// each case lints one import, as it would appear in a file of that part, with the project's config.
const ROOT = fileURLToPath(new URL('..', import.meta.url))

let eslint: ESLint
beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT })
})

/** The messages of the arrows rule for `code` linted as the repository file `file`. */
async function arrows(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) })
  return (result?.messages ?? []).filter((m) => m.ruleId === 'miglio/arrows').map((m) => m.message)
}

const use = (source: string) => `import { x } from '${source}'\nexport const y = x\n`

describe('miglio/arrows', () => {
  // [the file, what it imports, whether the rule fires]
  const cases: [string, string, boolean][] = [
    // shared holds library code: it never reaches into a service.
    ['services/shared/db/a.ts', '../../ingest/ingest-service.ts', true],
    ['services/shared/a.ts', '../api/app.ts', true],
    ['services/shared/testing/a.ts', '../../ingest/ingest-service.ts', true],
    ['services/shared/a.ts', './contracts/topics.ts', false],
    // contracts import nothing of the repository but contracts.
    ['services/shared/contracts/a.ts', '../logger.ts', true],
    ['services/shared/contracts/a.ts', './topics.ts', false],
    // ingest and api never import each other, tests included; both may use shared.
    ['services/ingest/a.ts', '../api/app.ts', true],
    ['services/ingest/a.int.test.ts', '../api/lib/transits-changed.ts', true],
    ['services/api/lib/a.ts', '../../ingest/ingest-service.ts', true],
    ['services/api/a.int.test.ts', '../ingest/transits-changed.ts', true],
    ['services/api/a.ts', '../shared/logger.ts', false],
    ['services/ingest/a.ts', '../shared/db/open-database.ts', false],
    // The services import neither the front door nor the composition of `miglio start`.
    ['services/ingest/main.ts', '../../cli/main.ts', true],
    ['services/api/main.ts', '../../start/main.ts', true],
    ['services/shared/a.ts', '../../start/pipeline.ts', true],
    // The simulator and the dashboards import contracts only.
    ['simulator/a.ts', '../services/shared/logger.ts', true],
    ['simulator/a.ts', '../services/ingest/ingest-service.ts', true],
    ['simulator/a.ts', '../services/shared/contracts/topics.ts', false],
    ['dashboards/src/views/a.ts', '../../../services/shared/db/create-db.ts', true],
    ['dashboards/src/a.ts', '../../simulator/rng.ts', true],
    ['dashboards/src/a.ts', '../../services/shared/contracts/api.ts', false],
    ['simulator/a.ts', '../dashboards/src/app.ts', true],
    // start composes the services and the simulator, but is not the front door.
    ['start/a.ts', '../services/ingest/main.ts', false],
    ['start/a.ts', '../simulator/simulation.ts', false],
    ['start/a.ts', '../cli/main.ts', true],
    // cli may import anything.
    ['cli/a.ts', '../services/ingest/ingest-service.ts', false],
    ['cli/a.ts', '../start/main.ts', false],
    // The exceptions, and only where they are granted.
    ['services/ingest/a.int.test.ts', '../../simulator/simulation.ts', false],
    ['services/ingest/a.ts', '../../simulator/simulation.ts', true],
    ['simulator/a.int.test.ts', '../services/shared/testing/engines.ts', false],
    ['simulator/a.ts', '../services/shared/testing/engines.ts', true],
    ['services/api/main.ts', '../../dashboards/build.ts', false],
    ['services/api/app.ts', '../../dashboards/build.ts', true],
  ]

  it.each(cases)('%s importing %s: fires %s', async (file, source, fires) => {
    const messages = await arrows(file, use(source))
    expect(messages).toHaveLength(fires ? 1 : 0)
  })

  it('checks re-exports and dynamic imports too, and names the arrow it enforces', async () => {
    const file = 'services/shared/a.ts'
    expect(await arrows(file, "export { x } from '../ingest/a.ts'\n")).toHaveLength(1)
    expect(await arrows(file, "export * from '../api/a.ts'\n")).toHaveLength(1)
    const [message] = await arrows(file, "export const m = await import('../api/app.ts')\n")
    expect(message).toBe(
      'shared must not import api (services/api/app.ts): shared imports only contracts (docs/architecture.md)',
    )
  })
})
