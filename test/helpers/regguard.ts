import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { buildApp, type RegguardApp } from '../../src/app.js'
import { loadConfig, type LoadedConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/log.js'

// The one way tests build regguard: from a config object, both listeners on port 0, closed on
// teardown. Log lines are kept for assertions.

export interface Started {
  app: RegguardApp
  config: LoadedConfig
  url: string
  port: number
  adminUrl: string
  logs: Array<Record<string, unknown>>
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> | unknown : T[K] }

export async function startRegguard (
  t: { teardown: (fn: () => unknown) => void },
  homeserverUrl: string,
  config: DeepPartial<Record<string, unknown>> = {},
  opts: { baseDir?: string } = {}
): Promise<Started> {
  const object = structuredClone(config) as Record<string, Record<string, unknown>>
  object.homeserver = { url: homeserverUrl, ...(object.homeserver ?? {}) }
  object.server = { port: 0, ...(object.server ?? {}) }
  object.admin = { port: 0, ...(object.admin ?? {}) }
  // every test client is 127.0.0.1: rate limits are off unless a test sets them
  object.register = { ...(object.register ?? {}), rate_limit: { enabled: false, ...((object.register?.rate_limit as object | undefined) ?? {}) } }
  if ((object.storage as { url?: unknown } | undefined)?.url === undefined) {
    // a store of its own, so parallel tests never see each other's invites
    const dir = mkdtempSync(join(tmpdir(), 'regguard-test-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    object.storage = { ...(object.storage ?? {}), url: `sqlite://${join(dir, 'regguard.sqlite')}` }
  }
  const loaded = loadConfig({ object, env: {}, baseDir: opts.baseDir })
  const logs: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>)
      cb()
    }
  })
  const app = await buildApp(loaded, { logger: createLogger('info', sink) })
  await app.proxy.listen({ host: '127.0.0.1', port: 0 })
  await app.admin.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const port = (app.proxy.server.address() as AddressInfo).port
  return {
    app,
    config: loaded,
    url: `http://127.0.0.1:${port}`,
    port,
    adminUrl: `http://127.0.0.1:${(app.admin.server.address() as AddressInfo).port}`,
    logs
  }
}
