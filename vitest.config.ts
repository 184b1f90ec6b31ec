import { defineConfig } from 'vitest/config'

// Two projects: `unit` (pure, no I/O, seconds) and `integration` (real TimescaleDB and MQTT broker).
// Integration files each get their own database (a fresh embedded TimescaleDB, or a database cloned
// on TEST_DATABASE_URL), so they may run in parallel; two at a time fits a 2-core machine.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // Unit tests first; integration (different worker count) after them.
          sequence: { groupOrder: 0 },
          include: [
            'services/**/*.test.ts',
            'simulator/**/*.test.ts',
            'dashboards/**/*.test.ts',
            'cli/**/*.test.ts',
            'start/**/*.test.ts',
            'bench/**/*.test.ts',
            'test/**/*.test.ts',
          ],
          // *.fault.test.ts is the fault suite (npm run test:faults, vitest.faults.config.ts).
          exclude: ['**/*.int.test.ts', '**/*.fault.test.ts', '**/node_modules/**'],
          env: { TZ: 'UTC' },
          // Some simulator tests generate hours of traffic: give them room on a loaded 2-core machine.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
          env: { TZ: 'UTC' },
        },
      },
    ],
  },
})
