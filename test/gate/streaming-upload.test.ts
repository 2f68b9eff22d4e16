import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import t from 'tap'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { startRegguard } from '../helpers/regguard.js'

// A 200 MB media upload passes through regguard as a stream: every byte arrives (same sha256),
// the homeserver sees the first bytes long before the client has sent the last, and the process
// (client, regguard and stand-in homeserver all live here) grows far less than the body.

t.setTimeout(170_000)

const TOTAL = 200 * 1024 * 1024
const CHUNK = 64 * 1024
const STALL_AFTER = 16 * 1024 * 1024

/**
 * A body generated chunk by chunk (never held whole). After STALL_AFTER bytes it waits until the
 * homeserver has received something, so a proxy that buffered the whole body would hang here.
 */
function generatedBody (total: number, firstByteAtHomeserver: Promise<void>): { stream: Readable, sha256: () => string, produced: () => number } {
  const hash = createHash('sha256')
  let produced = 0
  let n = 0
  const stream = new Readable({
    highWaterMark: CHUNK,
    read () {
      const emit = (): void => {
        if (produced >= total) { this.push(null); return }
        const size = Math.min(CHUNK, total - produced)
        const chunk = Buffer.allocUnsafe(size)
        // distinct content per chunk, so a lost, repeated or reordered chunk changes the hash
        for (let o = 0; o + 4 <= size; o += 4) chunk.writeUInt32LE((n * 2654435761 + o) >>> 0, o)
        n++
        produced += size
        hash.update(chunk)
        this.push(chunk)
      }
      if (produced >= STALL_AFTER && produced - CHUNK < STALL_AFTER) {
        firstByteAtHomeserver.then(emit, (err: Error) => this.destroy(err))
      } else {
        emit()
      }
    }
  })
  return { stream, sha256: () => hash.digest('hex'), produced: () => produced }
}

t.test('a 200 MB upload streams through with bounded memory', async (t) => {
  const hs = await startHomeserver(t)
  hs.streamBodies = true
  hs.respond(() => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"content_uri":"mxc://example.org/abc"}' }))
  const rg = await startRegguard(t, hs.url)
  const target = '/_matrix/media/v3/upload?filename=big.bin'

  // warm up connections and code paths so the baseline is not the cost of the first request
  const warm = await request(rg.url + target, { method: 'PUT', body: Buffer.alloc(1024 * 1024, 1) })
  await warm.body.text()
  global.gc?.()
  await new Promise((r) => setTimeout(r, 100))

  let sentWhenFirstByteArrived = -1
  let firstByte!: () => void
  const firstByteSeen = new Promise<void>((resolve, reject) => {
    firstByte = resolve
    setTimeout(() => reject(new Error('the homeserver received nothing while the client was still sending: the body is buffered')), 30_000).unref()
  })
  hs.server.once('request', (req: IncomingMessage) => {
    req.once('data', () => { sentWhenFirstByteArrived = body.produced(); firstByte() })
  })
  const body = generatedBody(TOTAL, firstByteSeen)

  const baseline = process.memoryUsage().rss
  let peak = baseline
  // Node 22+ leaves freed chunk buffers to a later GC than Node 20 did: at these rates that is
  // ~100 MB of garbage, not memory the proxy holds. Collected every 100 ms (tests run with
  // --expose-gc), the peak measures what stays held; a proxy that buffered the body still
  // grows by all of it.
  let tick = 0
  const sampler = setInterval(() => {
    if (++tick % 4 === 0) global.gc?.()
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 25)
  try {
    const res = await request(rg.url + target, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream', Authorization: 'Bearer tok' },
      body: body.stream
    })
    t.equal(res.statusCode, 200)
    t.same(await res.body.json(), { content_uri: 'mxc://example.org/abc' })
  } finally {
    clearInterval(sampler)
  }
  peak = Math.max(peak, process.memoryUsage().rss)

  const got = hs.received.at(-1)
  t.equal(got?.url, target)
  t.equal(got?.method, 'PUT')
  t.equal(got?.bodyLength, TOTAL, 'every byte arrived')
  t.equal(got?.bodySha256, body.sha256(), 'in order, unchanged')
  t.equal(got?.headers.authorization, 'Bearer tok')
  t.ok(sentWhenFirstByteArrived > 0 && sentWhenFirstByteArrived <= STALL_AFTER + CHUNK,
    `the homeserver got the first bytes after ${sentWhenFirstByteArrived} of ${TOTAL} bytes were produced`)
  const growthMb = (peak - baseline) / 1024 / 1024
  t.ok(growthMb < 100, `RSS grew ${growthMb.toFixed(1)} MB during a ${TOTAL / 1024 / 1024} MB upload`)
})

t.test('a chunked upload of unknown length streams through as well', async (t) => {
  const hs = await startHomeserver(t)
  hs.streamBodies = true
  const rg = await startRegguard(t, hs.url)
  let firstByte!: () => void
  const firstByteSeen = new Promise<void>((resolve) => { firstByte = resolve })
  hs.server.once('request', (req: IncomingMessage) => { req.once('data', () => firstByte()) })
  const size = 24 * 1024 * 1024
  const body = generatedBody(size, firstByteSeen)
  // undici sends a Readable of unknown length as Transfer-Encoding: chunked
  const res = await request(rg.url + '/_matrix/media/v3/upload', { method: 'POST', body: body.stream })
  t.equal(res.statusCode, 200)
  await res.body.text()
  const got = hs.received.at(-1)
  t.equal(got?.bodyLength, size)
  t.equal(got?.bodySha256, body.sha256())
})
