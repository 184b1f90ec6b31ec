import { describe, expect, it } from 'vitest'
import { openBrowserSocket } from './browser-socket.ts'

class FakeWebSocket {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static last: FakeWebSocket | null = null
  readyState = FakeWebSocket.CONNECTING
  closedWith: [number | undefined, string | undefined] | null = null
  sent: string[] = []
  onopen: (() => void) | null = null
  onmessage: ((e: { data: unknown }) => void) | null = null
  onclose: ((e: { code: number }) => void) | null = null
  onerror: (() => void) | null = null
  constructor(readonly url: string) {
    FakeWebSocket.last = this
  }
  send(data: string) {
    this.sent.push(data)
  }
  close(code?: number, reason?: string) {
    this.closedWith = [code, reason]
  }
  open() {
    this.readyState = FakeWebSocket.OPEN
    this.onopen?.()
  }
}

function open(events: string[]) {
  const sut = openBrowserSocket(
    'ws://x/api/v1/live',
    {
      open: () => void events.push('open'),
      message: (data) => void events.push(`message ${String(data)}`),
      close: (code) => void events.push(`close ${code}`),
    },
    FakeWebSocket as unknown as typeof WebSocket,
  )
  const ws = FakeWebSocket.last
  if (!ws) throw new Error('no socket')
  return { sut, ws }
}

describe(openBrowserSocket.name, () => {
  it('passes open, message and close on', () => {
    const events: string[] = []
    const { sut, ws } = open(events)

    ws.open()
    ws.onmessage?.({ data: 'hello' })
    sut.send('hi')
    ws.onclose?.({ code: 1006 })

    expect(events).toEqual(['open', 'message hello', 'close 1006'])
    expect(ws.sent).toEqual(['hi'])
  })

  it('defers a close asked while connecting to the open event, and never reports that open', () => {
    const events: string[] = []
    const { sut, ws } = open(events)

    sut.close(1000, 'bye')
    expect(ws.closedWith).toBeNull()
    ws.open()

    expect(ws.closedWith).toEqual([1000, 'bye'])
    expect(events).toEqual([])
  })
})
