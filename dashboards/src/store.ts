/** A listener hears every change with the state before it, so it can tell what changed. */
export type Listener<S> = (state: S, previous: S) => void

/**
 * A small store: one immutable state, replaced by `set`, and listeners told synchronously (a view
 * redraws what changed before `set` returns, so a caller may move focus right after).
 */
export interface Store<S> {
  get(): S
  set(update: Partial<S> | ((state: S) => Partial<S>)): void
  /** Returns the unsubscribe function. */
  subscribe(listener: Listener<S>): () => void
}

export function createStore<S extends object>(initial: S): Store<S> {
  let state = initial
  const listeners = new Set<Listener<S>>()
  return {
    get: () => state,
    set(update) {
      const previous = state
      const patch = typeof update === 'function' ? update(state) : update
      state = { ...state, ...patch }
      for (const listener of [...listeners]) listener(state, previous)
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
