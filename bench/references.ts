import { createServer } from 'node:http'
import { Pool } from 'undici'

// The two reference targets of issue 12, as their own processes (node dist/bench/references.js
// proxy|deny UPSTREAM_URL), each printing {"port":N} once listening:
// - proxy: the ceiling of one node process for pass-through: node:http in front, undici to the
//   upstream, status, headers and body streamed both ways, nothing else;
// - deny: the floor of a denied requestToken: node:http reading the whole body, JSON.parse, and
//   the same 403 answer regguard gives.

const [mode, upstream] = process.argv.slice(2)
const DENIED = Buffer.from(JSON.stringify({ errcode: 'M_THREEPID_DENIED', error: 'Your email domain is not authorized to register on this server' }))
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection'])

const server = mode === 'deny'
  ? createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      try { JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch { res.writeHead(400); res.end(); return }
      res.writeHead(403, { 'Content-Type': 'application/json', 'Content-Length': DENIED.length })
      res.end(DENIED)
    })
  })
  : (() => {
      const pool = new Pool(upstream as string, { connections: 128, pipelining: 1 })
      return createServer((req, res) => {
        const headers: string[] = []
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
          if (!HOP.has((req.rawHeaders[i] as string).toLowerCase())) headers.push(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string)
        }
        const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
        pool.stream({ method: req.method as 'GET', path: req.url ?? '/', headers, body: hasBody ? req : null }, ({ statusCode, headers: h }) => {
          const out: Record<string, string | string[]> = {}
          for (const [k, v] of Object.entries(h)) if (!HOP.has(k) && v !== undefined) out[k] = v
          res.writeHead(statusCode, out)
          return res
        }).catch(() => { if (!res.headersSent) { res.writeHead(502); res.end() } else res.destroy() })
      })
    })()
server.keepAliveTimeout = 120_000
server.listen(0, '127.0.0.1', () => {
  const addr = server.address()
  if (addr !== null && typeof addr === 'object') process.stdout.write(JSON.stringify({ port: addr.port }) + '\n')
})
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)) })
