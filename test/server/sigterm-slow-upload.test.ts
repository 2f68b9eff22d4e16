import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { freePort, runCli } from '../helpers/cli-process.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { parseRawResponse } from '../helpers/raw-http.js'

// SIGTERM while a client is still sending a slow upload: the upload completes, the homeserver
// gets every byte, and regguard exits 0 afterwards.

t.setTimeout(120_000)

t.test('a slow upload in flight completes on SIGTERM', async (t) => {
  const hs = await startHomeserver(t)
  const dir = mkdtempSync(join(tmpdir(), 'regguard-sigterm-'))
  const [port, adminPort] = [await freePort(), await freePort()]
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, `server: { host: 127.0.0.1, port: ${port} }\nadmin: { host: 127.0.0.1, port: ${adminPort} }\nhomeserver: { url: "${hs.url}" }\nstorage: { url: "sqlite://${join(dir, 'rg.sqlite')}" }\n`)
  const cli = runCli(t, ['--config', file])
  await cli.waitForLog((l) => l.msg === 'regguard listening')

  const chunk = Buffer.alloc(64 * 1024, 7)
  const parts = 20
  const hash = createHash('sha256')
  const socket = connect(port, '127.0.0.1')
  const received: Buffer[] = []
  socket.on('data', (d) => received.push(d))
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  socket.write(`PUT /_matrix/media/v3/upload?filename=a.bin HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${chunk.length * parts}\r\nConnection: close\r\n\r\n`)
  for (let i = 0; i < parts; i++) {
    socket.write(chunk)
    hash.update(chunk)
    if (i === 3) cli.child.kill('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 75))
  }
  await closed
  const res = parseRawResponse(Buffer.concat(received).toString('latin1'))
  t.equal(res.status, 200, 'the upload was answered')
  t.equal(hs.received.length, 1)
  t.equal(hs.received[0]?.bodyLength, chunk.length * parts, 'every byte reached the homeserver')
  t.equal(hs.received[0]?.bodySha256, hash.digest('hex'))
  t.equal(await cli.exited, 0, 'then regguard exited 0')
  t.ok(cli.logs.some((l) => l.msg === 'stopped'))
})
