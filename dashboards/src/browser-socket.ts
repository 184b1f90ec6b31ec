import type { SocketHandlers, SocketLike } from './live-feed.ts'

/**
 * A browser WebSocket behind the feed's small interface. Closing before the connection opens is
 * deferred to the open event: closing a connecting socket makes browsers log an error.
 */
export function openBrowserSocket(
  url: string,
  handlers: SocketHandlers,
  WebSocketImpl: typeof WebSocket = WebSocket,
): SocketLike {
  const ws = new WebSocketImpl(url)
  let closeWhenOpen: { code?: number; reason?: string } | null = null
  ws.onopen = () => {
    if (closeWhenOpen) ws.close(closeWhenOpen.code, closeWhenOpen.reason)
    else handlers.open()
  }
  ws.onmessage = (event: MessageEvent) => handlers.message(event.data)
  ws.onclose = (event: CloseEvent) => handlers.close(event.code)
  ws.onerror = () => undefined
  return {
    send: (data) => ws.send(data),
    close(code, reason) {
      if (ws.readyState === WebSocketImpl.CONNECTING) closeWhenOpen = { code, reason }
      else ws.close(code, reason)
    },
  }
}
