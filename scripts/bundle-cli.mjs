// Bundles the command (dist/src/cli.js, as tsc built it) into dist/regguard/: regguard's own
// modules and the small pure-JS dependencies that every start loads (yaml, convict, dns-packet)
// in a few files, so a start resolves, reads and compiles a few files instead of ~150. Run by
// `npm run build` and `prepare` after tsc; package.json's bin is dist/regguard/cli.js.
//
// Left as packages, loaded from node_modules as before:
// - fastify and undici: src/deferred-requires.ts stands in for modules they require, matched by
//   their paths in node_modules; fastify also requires its validator and serializer compilers
//   (ajv, fast-json-stringify) only when used, which a bundle would carry as source;
// - better-sqlite3 (a native addon), pino (its transports run files of its own in workers);
// - what is loaded only when configured or first used: kysely, pg, ioredis, libphonenumber-js,
//   prom-client (required from its own files, src/prom-client.ts).
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'regguard')

const EXTERNAL = ['fastify', '@fastify/*', 'undici', 'better-sqlite3', 'pino', 'kysely', 'pg', 'ioredis', 'libphonenumber-js', 'prom-client']

rmSync(out, { recursive: true, force: true })
const { metafile } = await build({
  entryPoints: { cli: join(root, 'dist', 'src', 'cli.js') },
  bundle: true,
  // the dynamic imports (commands, the cluster, kysely's store, Redis) stay lazy: their own files
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  external: EXTERNAL,
  outdir: out,
  // the bundled CommonJS (convict, yaml, dns-packet) requires node's own modules, and only those
  // (the packages they require are bundled too): an ES bundle needs a require for them. Node's
  // modules are taken as they are, without createRequire's path functions: run before cli.js's
  // first statement (as a require made at once would be), those were the first thing V8
  // optimized while src/cli.ts meant the compilers to be held (test/cli/entry.test.ts)
  banner: { js: "import { createRequire as bundleCreateRequire } from 'node:module'; let bundleRequire; const require = (id) => process.getBuiltinModule?.(id) ?? (bundleRequire ??= bundleCreateRequire(import.meta.url))(id);" },
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning'
})

// esbuild has every entry file that holds more than one module import its runtime chunk (its
// helpers, no module of ours): cli.js holds src/cli/compilers.ts, so it would. That import is a
// file node resolves before cli.js's first statement, and it needs none of the helpers (it
// imports no name); the chunks that use them import it themselves, so it is dropped here.
const cli = join(out, 'cli.js')
const runtime = Object.entries(metafile.outputs)
  .filter(([, o]) => Object.keys(o.inputs).length === 0 && o.imports.length === 0)
  .map(([file]) => file.split('/').at(-1))
let text = readFileSync(cli, 'utf8')
for (const chunk of runtime) text = text.replace(`import "./${chunk}";\n`, '')
writeFileSync(cli, text)
// run as a program (systemd, the Dockerfile, a checkout): its shebang starts node (src/cli/compilers.ts)
chmodSync(cli, 0o755)
