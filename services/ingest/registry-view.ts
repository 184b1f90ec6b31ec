import type { Db } from '../shared/db/create-db.ts'
import { loadGatewayRegistry } from './ingest-repository.ts'
import type { RegisteredGateway } from './model.ts'
import { indexForeignSources, type ForeignSources } from './intake/foreign-sources.ts'
import type { WithRetry } from './retry.ts'

/** Reloads after an unknown gateway or source happen at most this often. */
const RELOAD_AFTER_UNKNOWN_MS = 5_000

export type RegistryView = {
  get(gatewayId: string): RegisteredGateway | undefined
  size(): number
  /** The gateway formats' sources, indexed for routing (intake/foreign-sources.ts). */
  sources(): ForeignSources
  /** Loads it, retrying while the database is away (start). */
  load(): Promise<void>
  /** Loads it once, failing on an error (the periodic refresh; its caller logs and retries). */
  refresh(): Promise<void>
  /** A gateway added by a district load a moment ago: reloads, at most every 5 s. */
  reload(): Promise<void>
  /** The gateway after a (rate-limited) reload; undefined when none happened or it is still unknown. */
  reloadFor(gatewayId: string): Promise<RegisteredGateway | undefined>
}

/**
 * The district registry as ingest sees it: active gateways by id and the gateway formats' sources.
 * `onChange` runs after every load (the format subscriptions follow the formats the district uses).
 */
export function createRegistryView(deps: {
  db: Db
  withRetry: WithRetry
  now: () => number
  onChange: (sources: ForeignSources) => void
}): RegistryView {
  const { db, withRetry, now } = deps
  let registry = new Map<string, RegisteredGateway>()
  let sources: ForeignSources = indexForeignSources(registry)
  let loadedAt = 0
  function set(next: Map<string, RegisteredGateway>) {
    registry = next
    sources = indexForeignSources(next)
    loadedAt = now()
    deps.onChange(sources)
  }
  const view: RegistryView = {
    get: (id) => registry.get(id),
    size: () => registry.size,
    sources: () => sources,
    async load() {
      set(await withRetry('registry', () => loadGatewayRegistry(db)))
    },
    async refresh() {
      set(await loadGatewayRegistry(db))
    },
    async reload() {
      if (now() - loadedAt < RELOAD_AFTER_UNKNOWN_MS) return
      await view.load()
    },
    async reloadFor(gatewayId) {
      if (now() - loadedAt < RELOAD_AFTER_UNKNOWN_MS) return undefined
      await view.load()
      return registry.get(gatewayId)
    },
  }
  return view
}
