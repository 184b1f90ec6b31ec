import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of a real TimescaleDB (TEST_DATABASE_URL or a testcontainer), or null → embedded. */
    databaseAdminUrl: string | null
    databaseKind: 'env' | 'container' | 'embedded'
    /** TEST_MQTT_URL, or null → each test file starts an embedded Aedes broker. */
    mqttUrl: string | null
  }
}

const TIMESCALE_IMAGE = 'timescale/timescaledb:2.23.0-pg17'

/**
 * Resolves the engines once for the whole run: TEST_DATABASE_URL → testcontainers (when a container
 * runtime answers) → embedded TimescaleDB; TEST_MQTT_URL → embedded Aedes.
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
  const mqttUrl = process.env.TEST_MQTT_URL || null
  project.provide('databaseAdminUrl', databaseAdminUrl)
  project.provide('databaseKind', databaseKind)
  project.provide('mqttUrl', mqttUrl)
  process.stdout.write(
    `integration engines: database=${databaseKind} broker=${mqttUrl ? 'TEST_MQTT_URL' : 'embedded Aedes'}\n`,
  )
  return teardown
}
