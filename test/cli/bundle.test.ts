import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import t from 'tap'
import { CLI } from '../helpers/cli-path.js'

// The installed command is the bundle scripts/bundle-cli.mjs builds (the CLI tests run it). What
// it holds of node_modules is what it was meant to: the small pure-JS packages every start
// loads. fastify and undici must stay packages (src/deferred-requires.ts matches their files in
// node_modules), and so must what loads only when configured (kysely, pg, ioredis) or runs files
// of its own (pino, better-sqlite3): bundled, they would load at once or not at all.

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BUNDLED = ['@leichtgewicht/ip-codec', 'convict', 'dns-packet', 'lodash.clonedeep', 'yaml', 'yargs-parser']

function packagesIn (dir: string): Set<string> {
  const found = new Set<string>()
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.js'))) {
    // esbuild heads each bundled file with its path
    for (const m of readFileSync(join(dir, name), 'utf8').matchAll(/^\/\/ node_modules\/((?:@[^/\n]+\/)?[^/\n]+)\//gm)) found.add(m[1] as string)
  }
  return found
}

t.test('package.json\'s bin is the bundle the tests and the bench run', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }
  t.equal(join(ROOT, pkg.bin.regguard as string), CLI)
  // the bench runs from dist/bench (npm run bench), where its path to the command is resolved
  const bench = await import(pathToFileURL(join(ROOT, 'dist', 'bench', 'regguard.js')).href) as { CLI: string }
  t.equal(bench.CLI, CLI)
})

t.test('the bundle holds exactly the packages meant to be bundled', async (t) => {
  t.same([...packagesIn(join(ROOT, 'dist', 'regguard'))].sort(), BUNDLED)
})

t.test('regguard\'s own modules are in it, not imported from dist/src', async (t) => {
  const text = readdirSync(join(ROOT, 'dist', 'regguard')).filter((n) => n.endsWith('.js')).map((n) => readFileSync(join(ROOT, 'dist', 'regguard', n), 'utf8')).join('\n')
  t.match(text, /^\/\/ dist\/src\/gate\/request-token\.js$/m, 'the gate is bundled')
  t.notMatch(text, /from ["'](\.\.\/)+src\//, 'nothing imports the unbundled files')
})

t.test('the command\'s first file imports only node\'s own modules: nothing of ours is resolved before its first statement', async (t) => {
  const text = readFileSync(CLI, 'utf8')
  const statics = [...text.matchAll(/^import (?:[^'"\n]* from )?["']([^"']+)["']/gm)].map((m) => m[1] as string)
  t.ok(statics.length > 0, `static imports: ${statics.join(', ')}`)
  t.same(statics.filter((s) => !s.startsWith('node:')), [])
})
