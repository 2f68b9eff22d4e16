import { createHash } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import t from 'tap'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { startRegguard } from '../helpers/regguard.js'

// A large media download streams back through regguard as the homeserver writes it: the client
// reads the first bytes before the homeserver has written the rest, and gets every byte.

t.setTimeout(120_000)

const TOTAL = 50 * 1024 * 1024
const CHUNK = 256 * 1024

function chunkAt (n: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size)
  for (let o = 0; o + 4 <= size; o += 4) b.writeUInt32LE((n * 2246822519 + o) >>> 0, o)
  return b
}

/** Writes TOTAL bytes in chunks, honouring backpressure; after the first chunk it waits for `go`. */
async function writeLarge (res: ServerResponse, go: Promise<void>, hash: ReturnType<typeof createHash>, chunked: boolean): Promise<void> {
  res.writeHead(200, chunked
    ? { 'Content-Type': 'application/octet-stream' }
    : { 'Content-Type': 'application/octet-stream', 'Content-Length': String(TOTAL) })
  let written = 0
  for (let n = 0; written < TOTAL; n++) {
    const c = chunkAt(n, Math.min(CHUNK, TOTAL - written))
    hash.update(c)
    written += c.length
    res.write(c)
    // a proxy that collected the whole answer before sending it would never let this resolve
    if (n === 0) await go
    if (res.writableNeedDrain) await new Promise((resolve) => res.once('drain', resolve))
  }
  res.end()
}

for (const chunked of [false, true]) {
  t.test(`a 50 MB download streams back (${chunked ? 'chunked' : 'with Content-Length'})`, async (t) => {
    const hs = await startHomeserver(t)
    const sent = createHash('sha256')
    let clientGotFirst!: () => void
    const go = new Promise<void>((resolve, reject) => {
      clientGotFirst = resolve
      setTimeout(() => reject(new Error('client saw nothing while the homeserver was still writing')), 30_000).unref()
    })
    let homeserverDone = false
    hs.respond((_r, _req, res) => {
      writeLarge(res, go, sent, chunked).then(() => { homeserverDone = true }, (err: Error) => res.destroy(err))
      return undefined
    })
    const rg = await startRegguard(t, hs.url)
    const res = await request(`${rg.url}/_matrix/media/v3/download/example.org/big`)
    t.equal(res.statusCode, 200)
    if (!chunked) t.equal(res.headers['content-length'], String(TOTAL))
    const got = createHash('sha256')
    let length = 0
    let doneWhenFirstRead: boolean | null = null
    for await (const c of res.body) {
      if (doneWhenFirstRead === null) { doneWhenFirstRead = homeserverDone; clientGotFirst() }
      got.update(c as Buffer)
      length += (c as Buffer).length
    }
    t.equal(doneWhenFirstRead, false, 'the first bytes arrived before the homeserver had finished writing')
    t.equal(length, TOTAL, 'every byte')
    t.equal(got.digest('hex'), sent.digest('hex'), 'unchanged and in order')
  })
}
