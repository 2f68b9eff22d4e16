import Fastify from 'fastify'
import httpProxy from '@fastify/http-proxy'

// Issue 21's reference targets, the stack regguard is built on with nothing of regguard's in
// it, as their own processes (node dist/bench/fastify-references.js deny|proxy UPSTREAM_URL),
// each printing {"port":N} once listening; fastify's defaults (no logger) but the keep-alive
// every target gets:
// - deny: fastify reading and parsing the requestToken body (its JSON parser) and giving the
//   403 regguard gives, same headers and bytes;
// - proxy: fastify with @fastify/http-proxy in front of the upstream, its defaults.

const [mode, upstream] = process.argv.slice(2)
const DENIED = Buffer.from(JSON.stringify({ errcode: 'M_THREEPID_DENIED', error: 'Your email domain is not authorized to register on this server' }))
const TOKEN = '/_matrix/client/v3/register/:medium/requestToken'

const app = Fastify({ keepAliveTimeout: 120_000 })
if (mode === 'deny') {
  app.post(TOKEN, (request, reply) => {
    const body = request.body as { email?: unknown } | null
    // the parsed body is looked at, so no engine can drop the parse
    if (body === null || typeof body !== 'object' || typeof body.email !== 'string') return reply.code(400).send()
    return reply.code(403).header('content-type', 'application/json').send(DENIED)
  })
} else if (mode === 'proxy') {
  await app.register(httpProxy, { upstream: upstream as string })
} else {
  throw new Error(`usage: fastify-references.js deny|proxy UPSTREAM_URL (got ${String(mode)})`)
}
const addr = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(JSON.stringify({ port: Number(new URL(addr).port) }) + '\n')
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
