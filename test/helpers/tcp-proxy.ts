import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { once } from 'node:events'

/**
 * A counting TCP stand-in in front of an upstream: every connection the client opens is a
 * connection here, so `openConnections()` is exactly the number of sockets the client's pool holds.
 * It can also stop listening (the port then refuses connections) and listen again on the same port,
 * and drip the body of the next answer.
 */
export interface CountingProxy {
  /** `http://127.0.0.1:PORT`. */
  url: string
  /** Client connections open right now. */
  openConnections: () => number
  /** Client connections accepted since the start. */
  acceptedConnections: () => number
  /** Stops listening and destroys every open connection. Safe to call twice. */
  close: () => Promise<void>
  /** Listens again on the same port after `close()`. */
  reopen: () => Promise<void>
  /**
   * The next answer upstream sends (its first bytes after this call) has its head passed at once,
   * then every later byte of that connection one at a time, `ms` apart, until the client hangs up.
   */
  dripNextAnswer: (ms: number) => void
}

const HEAD_END = Buffer.from('\r\n\r\n')

/** Starts a proxy on 127.0.0.1 (free port) that pipes every connection to `targetUrl`. */
export async function startCountingProxy (targetUrl: string): Promise<CountingProxy> {
  const target = new URL(targetUrl)
  const open = new Set<Socket>()
  let accepted = 0
  let dripMs: number | undefined

  const server = createServer((client) => {
    accepted += 1
    open.add(client)
    const upstream = connect(Number(target.port), target.hostname)
    // Whatever closes first, the other side follows once its pending bytes are written, so a
    // dropped or truncated upstream answer reaches the client as it was sent.
    client.on('close', () => {
      open.delete(client)
      upstream.destroy()
    })
    upstream.on('close', () => { client.end(() => { client.destroy() }) })
    client.on('error', () => { upstream.destroy() })
    upstream.on('error', () => { client.destroy() })
    client.pipe(upstream)
    // Upstream bytes are written by hand (not piped), so that one answer can be dripped.
    let dripped: Buffer[] | undefined
    upstream.on('data', (chunk: Buffer) => {
      if (dripped !== undefined) {
        dripped.push(chunk)
      } else if (dripMs !== undefined) {
        const headEnd = chunk.indexOf(HEAD_END) + HEAD_END.length
        client.write(chunk.subarray(0, headEnd))
        dripped = [chunk.subarray(headEnd)]
        dripBytes(client, dripped, dripMs)
        dripMs = undefined
      } else {
        client.write(chunk)
      }
    })
  })

  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  let listening = true

  return {
    url: `http://127.0.0.1:${port}`,
    openConnections: () => open.size,
    acceptedConnections: () => accepted,
    async close () {
      if (!listening) return
      listening = false
      const closed = new Promise<void>((resolve) => { server.close(() => { resolve() }) })
      for (const socket of open) socket.destroy()
      await closed
    },
    dripNextAnswer (ms) {
      dripMs = ms
    },
    async reopen () {
      if (listening) return
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
      listening = true
    }
  }
}

/** Writes the queued bytes to `client` one at a time, `ms` apart, until it closes. */
function dripBytes (client: Socket, queue: Buffer[], ms: number): void {
  const timer = setInterval(() => {
    while (queue.length > 0 && queue[0]!.length === 0) queue.shift()
    const head = queue[0]
    if (head === undefined) return
    client.write(head.subarray(0, 1))
    queue[0] = head.subarray(1)
  }, ms)
  client.on('close', () => { clearInterval(timer) })
}
