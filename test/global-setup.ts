import type { TestProject } from 'vitest/node'
import {
  createTemplateDatabase,
  embeddedTemplate,
} from '../services/shared/testing/template-database.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of a real TimescaleDB (TEST_DATABASE_URL or a testcontainer), or null → embedded. */
    databaseAdminUrl: string | null
    databaseKind: 'env' | 'container' | 'embedded'
    /** On a real server: the database migrated once for this run, which test databases copy. */
    databaseTemplate: string | null
    /** Embedded engine: a migrated data directory (tarball) each test database starts from. */
    embeddedTemplate: string | null
    /** TEST_MQTT_URL, or null → each test file starts an embedded Aedes broker. */
    mqttUrl: string | null
  }
}

const TIMESCALE_IMAGE = 'timescale/timescaledb:2.23.0-pg17'

/**
 * Resolves the engines once for the whole run: TEST_DATABASE_URL → testcontainers (when a container
 * runtime answers) → embedded TimescaleDB; TEST_MQTT_URL → embedded Aedes. On a real server it
 * migrates one template database, which every test file's database is cloned from; embedded, each
 * test file's TimescaleDB starts from a migrated data directory kept between runs.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let teardown = async (): Promise<void> => undefined
  let databaseAdminUrl: string | null = process.env.TEST_DATABASE_URL || null
  let databaseKind: 'env' | 'container' | 'embedded' = databaseAdminUrl ? 'env' : 'embedded'
  if (!databaseAdminUrl) {
    try {
      const tc = await import('testcontainers')
      await tc.getContainerRuntimeClient()
      const container = await new tc.GenericContainer(TIMESCALE_IMAGE)
        .withEnvironment({ POSTGRES_PASSWORD: 'miglio' })
        .withExposedPorts(5432)
        .withWaitStrategy(
          tc.Wait.forLogMessage(/database system is ready to accept connections/, 2),
        )
        .start()
      databaseAdminUrl = `postgres://postgres:miglio@${container.getHost()}:${container.getMappedPort(5432)}/postgres`
      databaseKind = 'container'
      teardown = async () => {
        await container.stop()
      }
    } catch {
      // No container runtime here: every test file starts its own embedded TimescaleDB.
    }
  }
  let databaseTemplate: string | null = null
  if (databaseAdminUrl) {
    const started = Date.now()
    const template = await createTemplateDatabase(databaseAdminUrl)
    databaseTemplate = template.name
    const stopContainer = teardown
    teardown = async () => {
      await template.drop()
      await stopContainer()
    }
    process.stdout.write(
      `template database ${template.name} migrated in ${Date.now() - started} ms\n`,
    )
  }
  let embedded: string | null = null
  if (!databaseAdminUrl) {
    const started = Date.now()
    embedded = await embeddedTemplate()
    process.stdout.write(`embedded template ${embedded} ready in ${Date.now() - started} ms\n`)
  }
  const mqttUrl = process.env.TEST_MQTT_URL || null
  project.provide('databaseAdminUrl', databaseAdminUrl)
  project.provide('databaseTemplate', databaseTemplate)
  project.provide('embeddedTemplate', embedded)
  project.provide('databaseKind', databaseKind)
  project.provide('mqttUrl', mqttUrl)
  process.stdout.write(
    `integration engines: database=${databaseKind} broker=${mqttUrl ? 'TEST_MQTT_URL' : 'embedded Aedes'}\n`,
  )
  return teardown
}
