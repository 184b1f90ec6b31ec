import { defineConfig } from 'vitest/config'

// The fault-injection suite (`npm run test:faults`, docs/faults.md): not part of `npm test`, because
// it needs root, PostgreSQL 15 and Mosquitto, starts and stops its own TimescaleDB server and broker,
// and takes minutes. Its helpers' unit tests (compare.test.ts) also run in `npm test`'s unit project.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.fault.test.ts'],
    exclude: ['**/node_modules/**'],
    fileParallelism: false,
    sequence: { shuffle: false },
    testTimeout: 420_000,
    hookTimeout: 180_000,
    env: { TZ: 'UTC' },
  },
})
