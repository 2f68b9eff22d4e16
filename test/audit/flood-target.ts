import { startRegguard } from '../helpers/regguard.js'
import { startUiaHomeserver } from '../helpers/uia-homeserver.js'

// Run as a process of its own by register-flood.test.ts (node --import=tsx, as the test runner
// runs tests): regguard and a UIA homeserver, so that the RSS measured is theirs and not the
// flooding client's. Lines on stdout: {"port"}, then what it measured for each "measure" on stdin.

const teardowns: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => { teardowns.push(fn) } }
const hs = await startUiaHomeserver(t)
const rg = await startRegguard(t, hs.url, JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>)
const file = rg.config.settings.storage.url.slice('sqlite://'.length)
const { statSync } = await import('node:fs')
const sizeOf = (): number => {
  let n = 0
  for (const f of [file, `${file}-wal`]) { try { n += statSync(f).size } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err } }
  return n
}
const say = (o: unknown): void => { process.stdout.write(JSON.stringify(o) + '\n') }
say({ port: rg.port, adminUrl: rg.adminUrl })
process.stdin.setEncoding('utf8')
let buf = ''
process.stdin.on('data', (d: string) => {
  buf += d
  for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
    const cmd = buf.slice(0, i)
    buf = buf.slice(i + 1)
    if (cmd === 'measure') {
      void rg.app.context.audit.flush().then(async () => {
        ;(globalThis as { gc?: () => void }).gc?.()
        const rows = await rg.app.context.store.decisions.list({ limit: 5 })
        const refused = rg.logs.filter((l) => l.msg === 'registration refused')
        say({ rss: process.memoryUsage.rss(), heapUsed: process.memoryUsage().heapUsed, store: sizeOf(), rows: rows.decisions, refused: refused.length, longestLine: Math.max(0, ...refused.map((l) => JSON.stringify(l).length)), sample: refused[0] })
      })
    }
  }
})
process.stdin.on('end', () => { void Promise.all(teardowns.reverse().map((f) => f())).then(() => process.exit(0)) })
