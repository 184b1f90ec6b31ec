import type { MeResponse } from '../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../api-client.ts'
import type { Messages } from '../i18n.ts'
import type { LiveState } from '../live-feed.ts'
import type { CachedRead } from '../request-cache.ts'

/**
 * A panel is one module of a view's folder (`views/district/heatmap.ts`): it exports its `id`,
 * a `load(api, params)` that fetches its data through the api-client (every answer checked against
 * the contract's zod schema there) and a `render(body, state)` that draws the state into its body,
 * plus, as needed, its heading, note and controls and which params it depends on. A view imports its
 * panels as namespaces (`import * as heatmap from './district/heatmap.ts'`) and lays them out; the
 * view's store loads them and calls `render` whenever their part of the state changes.
 */
export interface PanelModule<P = object, D = unknown, U = object> {
  /** The panel's key in the view's store and the id of its card. */
  readonly id: string
  /** View params whose change reloads the panel (and redraws it). */
  readonly dependsOn?: readonly (keyof P)[]
  /** Keep the data on screen while a params change reloads it (by default the panel shows loading). */
  readonly keepWhileReloading?: boolean
  /** Redraw on every live message (`live`), and when the page width changes (`resize`). */
  readonly redrawOn?: readonly ('live' | 'resize')[]
  /** The panel's own UI state at first (a confirmation asked, a message shown). */
  readonly ui?: U
  /** The card's heading; a card without one is not drawn as a card. */
  title?(m: Messages, params: Params<P>, data: D | null): string
  note?(m: Messages, params: Params<P>, data: D | null): string | undefined
  /** Controls in the card's head (drawn once per render of the view). */
  controls?(doc: Document, m: Messages, params: P, act: PanelActions<P, D, U>): Node[]
  load?(api: ApiClient, params: Params<P>): Promise<D>
  /** Draws the state into `body`; the same state draws the same DOM. */
  render(body: HTMLElement, state: PanelState<P, D, U>): void
}

/** What every load and draw may read besides the view's params, fixed for one round of loads. */
export interface ViewEnv {
  now: Date
  /** The district's time zone (local days, hours and weekdays). */
  timeZone: string
  me: MeResponse | null
}

export type Params<P> = P & ViewEnv

export interface PanelState<P, D, U> {
  doc: Document
  m: Messages
  params: Params<P>
  /** Null until the first load answers (and after a params change that reloads the panel). */
  data: D | null
  /** The last load's failure, in the reader's language; the data before it stays. */
  error: string | null
  ui: U
  live: LiveState
  /** The body's width in pixels (0 in jsdom: charts fall back to their minimum). */
  width: number
  act: PanelActions<P, D, U>
}

/** What a panel may do in answer to the reader. */
export interface PanelActions<P, D, U> {
  /** The API for changes and downloads; the panel's data comes through `load`. */
  api: ApiClient
  setUi(patch: Partial<U>): void
  setData(update: (data: D | null) => D | null): void
  /** Changes the view's params; resolves when the panels depending on them have loaded. */
  setParams(patch: Partial<P>): Promise<void>
  /** Loads the panel again at once; `fresh` forgets those shared answers first (after a change). */
  reload(fresh?: readonly CachedRead[]): Promise<void>
  /** For a failed change: true when the key was refused and the app signed out (stop there). */
  signedOut(error: unknown): boolean
  /** Saves text (or a fetched file) as a file (a Blob link in the browser). */
  saveFile(name: string, text: string | Blob, type: string): void
}

/** One panel's part of the view's store. */
export interface PanelSlot {
  data: unknown
  error: string | null
  /** A load of the panel is out (the periodic refresh does not send another). */
  loading: boolean
  ui: unknown
}

export interface ViewState<P> {
  params: P
  panels: Readonly<Record<string, PanelSlot>>
  live: LiveState
  /** When a load last answered. */
  updatedAt: Date | null
  /** The page is not this key's (a shop's 403 or 404) or not served (the street screen's 404). */
  denied: 'forbidden' | 'not_found' | null
}

/** Any panel of a view with params `P`, whatever its data. */
export type AnyPanel<P> = PanelModule<P, unknown, unknown>
