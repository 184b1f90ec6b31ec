import { connect, createServer, type Server, type Socket } from 'node:net'

/** What the proxy does with a new connection. */
export type ProxyMode =
  /** Reset at once, as a server that is down. */
  | 'refuse'
  /** Answer the startup message with FATAL 57P03, as PostgreSQL does while it starts up. */
  | 'starting-up'
  /** Forward to the database. */
  | 'forward'

export type DatabaseProxy = {
  /** The target's URL with the proxy's address. */
  url: string
  /** Connections made from now on get this treatment (open ones are left alone). */
  set(mode: ProxyMode): void
  /** Connections the proxy has answered 57P03. */
  readonly startingUpAnswers: number
  /** Drops every open connection (a server crash, as the client sees it). */
  dropAll(): void
  close(): Promise<void>
}

/** PostgreSQL's ErrorResponse: FATAL, SQLSTATE 57P03, "the database system is starting up". */
function startingUpResponse(): Buffer {
  const fields = Buffer.concat([
    ...[
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', '57P03'],
      ['M', 'the database system is starting up'],
    ].map(([k, v]) => Buffer.from(`${k}${v}\u0000`, 'utf8')),
    Buffer.from([0]),
  ])
  const header = Buffer.alloc(5)
  header.write('E', 0)
  header.writeInt32BE(fields.length + 4, 1)
  return Buffer.concat([header, fields])
}

/**
 * A TCP proxy in front of a test database whose behaviour a test switches: down, starting up, or
 * up. Tests of what ingest and the API do through an outage and a restart of the server.
 */
export async function startDatabaseProxy(
  targetUrl: string,
  mode: ProxyMode = 'forward',
): Promise<DatabaseProxy> {
  const target = new URL(targetUrl)
  let current = mode
  let startingUpAnswers = 0
  const sockets = new Set<Socket>()
  const track = (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => s.destroy())
  }
  const server: Server = createServer((client) => {
    track(client)
    if (current === 'refuse') {
      client.resetAndDestroy()
      return
    }
    if (current === 'starting-up') {
      // The client speaks first (an SSLRequest or the startup message): answer it, then close.
      client.once('data', (first: Buffer) => {
        // SSLRequest (length 8, code 80877103): no TLS here, then the startup message follows.
        if (first.length === 8 && first.readInt32BE(4) === 80877103) {
          client.write('N')
          client.once('data', () => {
            startingUpAnswers++
            client.end(startingUpResponse())
          })
          return
        }
        startingUpAnswers++
        client.end(startingUpResponse())
      })
      return
    }
    const upstream = connect(Number(target.port || 5432), target.hostname)
    track(upstream)
    client.pipe(upstream).pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const url = new URL(target.toString())
  url.hostname = '127.0.0.1'
  url.port = String(port)
  return {
    url: url.toString(),
    set(mode) {
      current = mode
    },
    get startingUpAnswers() {
      return startingUpAnswers
    },
    dropAll() {
      for (const s of sockets) s.destroy()
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
