// The compiled CLI's entry (bin/build.mjs bundles it into dist/miglio.mjs); bin/miglio.mjs runs the
// same `main` through tsx.
import { main } from './main.ts'

process.exitCode = await main(process.argv)
