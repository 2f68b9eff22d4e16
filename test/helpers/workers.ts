import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, runCli, type CliProcess } from './cli-process.js'
import { rawPost, rawRequest, type RawResponse } from './raw-http.js'

// `regguard serve` with server.workers: 2 as a real process tree, and requests whose answering
// worker the test learns: each is sent on a new connection (so node:cluster hands it to one of
// the workers) with a query name of its own, which the worker's request log line keeps.

export interface Cluster {
  cli: CliProcess
  port: number
  adminPort: number
  dir: string
  file: string
  /** Rewrites the config file (same ports, store and homeserver) with these extra lines */
  rewrite: (extra: string[]) => void
}

/** `storageUrl`: default a SQLite file in a fresh directory */
export async function startCluster (t: { teardown: (fn: () => unknown) => void }, homeserverUrl: string, extra: string[], storageUrl?: string): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'regguard-workers-'))
  const [port, adminPort] = [await freePort(), await freePort()]
  const file = join(dir, 'regguard.yaml')
  const rewrite = (lines: string[]): void => {
    writeFileSync(file, [
      `server: { host: 127.0.0.1, port: ${port}, workers: 2 }`,
      `admin: { host: 127.0.0.1, port: ${adminPort}, token: admintoken }`,
      `homeserver: { url: "${homeserverUrl}" }`,
      `storage: { url: "${storageUrl ?? `sqlite://${join(dir, 'rg.sqlite')}`}" }`,
      'log: { requests: true }',
      ...lines
    ].join('\n') + '\n')
  }
  rewrite(extra)
  const cli = runCli(t, ['--config', file])
  await cli.waitForLog((l) => l.msg === 'all workers listening', 60_000)
  return { cli, port, adminPort, dir, file, rewrite }
}

let probes = 0

export interface Answered { res: RawResponse, worker: number, pid: number }

/** Which worker answered the request whose target holds `probe` (its request log line). */
async function answeredBy (cli: CliProcess, probe: string, res: RawResponse): Promise<Answered> {
  const line = await cli.waitForLog((l) => l.msg === 'request' && typeof l.target === 'string' && l.target.includes(`${probe}=`), 30_000)
  return { res, worker: line.worker as number, pid: line.pid as number }
}

/** A POST on a new connection; resolves with the answer and the worker that gave it. */
export async function postTo (c: Cluster, path: string, body: unknown): Promise<Answered> {
  const probe = `probe${++probes}`
  const res = await rawPost(c.port, `${path}?${probe}=1`, JSON.stringify(body), { 'Content-Type': 'application/json' })
  return await answeredBy(c.cli, probe, res)
}

/** A GET on a new connection to the proxy listener. */
export async function getFrom (c: Cluster, path: string): Promise<Answered> {
  const probe = `probe${++probes}`
  const res = await rawRequest(c.port, `GET ${path}?${probe}=1 HTTP/1.1\r\nHost: matrix.example.org\r\nConnection: close\r\n\r\n`, 30_000)
  return await answeredBy(c.cli, probe, res)
}

/** Sends `send()` until both workers have answered; every answer, in order. */
export async function untilBothAnswered (send: () => Promise<Answered>, most: number): Promise<Answered[]> {
  const all: Answered[] = []
  while (all.length < most && new Set(all.map((a) => a.worker)).size < 2) all.push(await send())
  return all
}

/** The admin listener (served by every worker), on a new connection. */
export async function admin (c: Cluster, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const b = body === undefined ? '' : JSON.stringify(body)
  const head = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', 'Authorization: Bearer admintoken', `Content-Length: ${Buffer.byteLength(b)}`]
  if (body !== undefined) head.push('Content-Type: application/json')
  return await rawRequest(c.adminPort, head.join('\r\n') + '\r\n\r\n' + b, 30_000)
}

/** The value of one sample in a Prometheus text answer (0 when absent). */
export function sample (text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}
