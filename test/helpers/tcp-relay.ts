import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

// A TCP relay on loopback in front of a real service (PostgreSQL, Redis): what a restart or a
// failover does to regguard's connections, on demand. cut() destroys every relayed connection
// and refuses new ones until restore().

export interface TcpRelay {
  port: number
  /** Connections relayed so far (accepted while not cut) */
  accepted: () => number
  /** Connections open through the relay now */
  open: () => number
  cut: () => void
  restore: () => void
  close: () => Promise<void>
}

export async function startTcpRelay (t: { teardown: (fn: () => unknown) => void }, targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
  const pairs = new Set<[Socket, Socket]>()
  let isCut = false
  let accepted = 0
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
    client.pipe(upstream)
    upstream.pipe(client)
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
    restore () { isCut = false },
    close: () => new Promise<void>((resolve) => {
      relay.cut()
      server.close(() => resolve())
    })
  }
  t.teardown(() => relay.close())
  return relay
}
