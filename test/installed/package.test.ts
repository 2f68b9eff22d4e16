import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import t from 'tap'
import { installedCommand, installedPackageDir } from '../helpers/installed.js'

// What `npm install -g` of the packed tarball put on disk: the command is tsc's output behind a
// plain shebang, the package holds built JavaScript and no sources or tests, and every module the
// shipped code imports (lazily loaded ones too, which a run may never reach) is in the package or
// among its installed dependencies.

function files (dir: string, skip: (path: string) => boolean = () => false): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (skip(p)) continue
    if (e.isDirectory()) out.push(...files(p, skip))
    else out.push(p)
  }
  return out
}

// tsc's output: `import ... from '...'`, `export ... from '...'`, `import('...')`, `import '...'`
const SPECIFIERS = /^(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|[\s;(=]import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gm

t.test('the installed command is the built cli.js behind #!/usr/bin/env node', async (t) => {
  const dir = installedPackageDir()
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin: Record<string, string> }
  const target = join(dir, pkg.bin.regguard as string)
  t.equal(realpathSync(installedCommand()), realpathSync(target), 'bin/regguard is package.json\'s bin')
  t.equal(readFileSync(target, 'utf8').split('\n')[0], '#!/usr/bin/env node', 'a plain shebang, no flags')
  t.ok((statSync(target).mode & 0o111) !== 0, 'executable')
})

t.test('the package ships built JavaScript, no sources or tests', async (t) => {
  const dir = installedPackageDir()
  const own = files(dir, (p) => p === join(dir, 'node_modules'))
  const rel = own.map((p) => relative(dir, p))
  t.same(rel.filter((p) => /\.tsx?$/.test(p) && !p.endsWith('.d.ts')), [], 'no TypeScript sources')
  t.same(rel.filter((p) => p.startsWith('test/') || p.startsWith('src/') || p.startsWith('bench/') || p.startsWith('dist/bench/')), [], 'no tests, sources or bench')
  t.ok(rel.includes('dist/console/index.html'), 'the console is built in')
})

t.test('every module the shipped code imports is shipped or installed', async (t) => {
  const dir = installedPackageDir()
  const shipped = files(join(dir, 'dist', 'src')).filter((p) => p.endsWith('.js'))
  t.ok(shipped.length > 20, `${shipped.length} modules shipped`)
  const missing: string[] = []
  const packages = new Set<string>()
  for (const file of shipped) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(SPECIFIERS)) {
      const spec = m[1] ?? m[2] ?? m[3] as string
      if (spec.startsWith('.')) {
        if (!existsSync(resolve(dirname(file), spec))) missing.push(`${relative(dir, file)} imports ${spec}`)
      } else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0] as string)
      }
    }
  }
  t.same(missing, [], 'every relative import is in the package')
  const deps = Object.keys((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {})
  for (const p of packages) {
    t.ok(deps.includes(p), `${p}: a dependency in package.json`)
    t.ok(existsSync(join(dir, 'node_modules', p, 'package.json')), `${p}: installed with the package`)
  }
})
