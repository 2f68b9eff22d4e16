import { createServer, type AddressInfo } from 'node:net'

/** A loopback port that was free a moment ago (listened on, then closed): nothing answers it now. */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}
