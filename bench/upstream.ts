import { createServer } from 'node:http'

// The stand-in homeserver for the benchmark: as cheap as node:http allows (answers prepared
// once, bodies drained without copying), so the proxies in front of it are what gets measured.
// Run as its own process: prints {"port":N} on stdout once listening.

const VERSIONS = Buffer.from(JSON.stringify({ versions: ['r0.6.1', 'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6'], unstable_features: {} }))
const SID = Buffer.from('{"sid":"x"}')
const OK = Buffer.from('{}')

function headersFor (body: Buffer): [string, string][] {
  return [['Content-Type', 'application/json'], ['Content-Length', String(body.length)]]
}
const H_VERSIONS = headersFor(VERSIONS)
const H_SID = headersFor(SID)
const H_OK = headersFor(OK)

const server = createServer((req, res) => {
  if (req.method === 'GET' || req.method === 'HEAD') {
    res.writeHead(200, H_VERSIONS)
    res.end(VERSIONS)
    return
  }
  const token = req.url !== undefined && req.url.includes('/requestToken')
  req.on('data', () => {})
  req.on('end', () => {
    res.writeHead(200, token ? H_SID : H_OK)
    res.end(token ? SID : OK)
  })
})
// proxies keep their upstream connections for the whole run
server.keepAliveTimeout = 120_000
server.headersTimeout = 130_000
server.requestTimeout = 0
server.listen(0, '127.0.0.1', () => {
  const addr = server.address()
  if (addr !== null && typeof addr === 'object') process.stdout.write(JSON.stringify({ port: addr.port }) + '\n')
})
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)) })
