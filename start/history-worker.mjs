// The demo history's simulation worker (see history-days.ts): the sources are TypeScript, run
// through tsx's loader as the CLI runs them (a worker does not inherit a loader registered with
// tsx's API on the main thread).
import { register } from 'tsx/esm/api'

register()
await import('./history-days.ts')
