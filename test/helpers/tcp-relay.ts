import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

// A TCP relay on loopback in front of a real service (PostgreSQL, Redis): what a restart or a
// failover does to regguard's connections, on demand. cut() destroys every relayed connection
// and refuses new ones until restore(). Small volumes only: no back-pressure.

export interface TcpRelay {
  port: number
  /** Connections relayed so far (accepted while not cut) */
  accepted: () => number
  /** Connections open through the relay now */
  open: () => number
  cut: () => void
  /**
   * Cuts when a client next sends anything (a query), before it reaches the server: the
   * connection dies while a request waits on it. Resolves once cut.
   */
  cutOnNextSend: () => Promise<void>
  /** Relays nothing more either way but keeps every connection open: a peer gone silent */
  freeze: () => void
  /** Delays every answer from the server by `ms` (0: none), so requests overlap and the pool grows */
  slow: (ms: number) => void
  restore: () => void
  close: () => Promise<void>
}

export async function startTcpRelay (t: { teardown: (fn: () => unknown) => void }, targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
  const pairs = new Set<[Socket, Socket]>()
  let isCut = false
  let frozen = false
  let delayMs = 0
  let accepted = 0
  let armed: (() => void) | null = null
  const server: Server = createServer((client) => {
    // a refused connection: closed at once, as a server that is not there yet would
    if (isCut) { client.destroy(); return }
    accepted++
    const upstream = connect(targetPort, targetHost)
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    const drop = (): void => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.on('data', (d: Buffer) => {
      if (armed !== null) { const done = armed; armed = null; relay.cut(); done(); return }
      if (!frozen) upstream.write(d)
    })
    upstream.on('data', (d: Buffer) => {
      if (frozen) return
      if (delayMs === 0) client.write(d)
      else setTimeout(() => { if (!frozen) client.write(d) }, delayMs)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const relay: TcpRelay = {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    open: () => pairs.size,
    cut () {
      isCut = true
      for (const [a, b] of [...pairs]) { a.destroy(); b.destroy() }
      pairs.clear()
    },
    cutOnNextSend: () => new Promise<void>((resolve) => { armed = resolve }),
    freeze () { frozen = true },
    slow (ms) { delayMs = ms },
    restore () { isCut = false; frozen = false },
    close: () => new Promise<void>((resolve) => {
      relay.cut()
      server.close(() => resolve())
    })
  }
  t.teardown(() => relay.close())
  return relay
}
