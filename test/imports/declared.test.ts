import { readFileSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import t from 'tap'
import { specifiersOf, srcSpecifiers, type Specifier } from './specifiers.js'

// What src/ imports is what package.json declares, through each package's public entry points:
// a package not in `dependencies` works only where something else happened to install it, and a
// file inside a package (`undici/lib/...`) is no interface of it: it moves or changes between
// patch releases, and it may be only part of what the package's index sets up (issue 21: undici's
// Pool file lacks the request() its index attaches). createRequire is for node's own modules:
// a package's entry is imported. Type-only imports are checked too: tsc resolves them as well.

const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies?: Record<string, string> }
const DECLARED = new Set(Object.keys(PKG.dependencies ?? {}))

/** 'a/b/c' -> ['a', 'b/c'], '@s/a/b' -> ['@s/a', 'b']; null for a relative or absolute path */
export function packageOf (spec: string): { name: string, subpath: string } | null {
  if (spec.startsWith('.') || spec.startsWith('/')) return null
  const parts = spec.split('/')
  const n = spec.startsWith('@') ? 2 : 1
  return { name: parts.slice(0, n).join('/'), subpath: parts.slice(n).join('/') }
}

/** A subpath the package names itself in its `exports`, spelled out (no `*` pattern) */
function exportedSubpath (name: string, subpath: string): boolean {
  let exports: unknown
  try {
    exports = (JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { exports?: unknown }).exports
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
  return exports !== null && typeof exports === 'object' && Object.hasOwn(exports, `./${subpath}`)
}

/** Why this specifier breaks the rule, or null when it keeps it */
export function violation (s: Specifier, declared: ReadonlySet<string> = DECLARED): string | null {
  if (s.spec === null) return `${s.kind} of a computed specifier: name the module literally`
  if (isBuiltin(s.spec)) return null
  const pkg = packageOf(s.spec)
  if (s.kind === 'require') return `createRequire/require of ${s.spec}: import it (createRequire is for node's own modules)`
  if (pkg === null) return null
  if (!declared.has(pkg.name)) return `${pkg.name} is not in package.json's dependencies`
  if (pkg.subpath !== '' && !exportedSubpath(pkg.name, pkg.subpath)) return `${s.spec} is a path inside ${pkg.name}, not one of its entry points`
  return null
}

t.test('every specifier in src/ is node\'s own, regguard\'s own or a declared package\'s entry point', async (t) => {
  const all = srcSpecifiers()
  t.ok(all.filter((s) => s.kind === 'import').length > 300, `static imports read (${all.length} specifiers in all)`)
  t.ok(all.some((s) => s.kind === 'dynamic'), 'dynamic imports read')
  const bad = all.flatMap((s) => { const why = violation(s); return why === null ? [] : [`src/${s.file}:${s.line}: ${why}`] })
  t.same(bad, [], 'specifiers that break the rule')
})

t.test('the check finds each kind of violation', async (t) => {
  const found = (text: string): string[] => specifiersOf('probe.ts', text).flatMap((s) => { const why = violation(s); return why === null ? [] : [why] })
  t.same(found([
    "import { a } from './a.js'",
    "import type { Dispatcher } from 'undici'",
    "import { setTimeout } from 'node:timers/promises'",
    "import fs from 'fs'",
    "export { b } from '../b.js'",
    "const m = await import('./c.js')",
    "const r = createRequire(import.meta.url)('node:http')",
    "// import x from 'not-a-dependency'",
    "const s = 'require(\"not-a-dependency\")'"
  ].join('\n')), [], 'allowed: relative, builtins, a declared package; comments and strings are no imports')
  t.match(found("import left from 'left-pad'"), [/left-pad is not in package.json's dependencies/])
  t.match(found("import type { X } from '@scope/pkg/types'"), [/@scope\/pkg is not in package.json's dependencies/], 'a scoped name is two segments')
  t.match(found("export * from 'undeclared'"), [/undeclared is not/])
  t.match(found("const x = await import('undeclared')"), [/undeclared is not/])
  t.match(found("type T = typeof import('undeclared')"), [/undeclared is not/])
  t.match(found("import Pool from 'undici/lib/dispatcher/pool.js'"), [/a path inside undici/])
  t.match(found("import type * as P from 'prom-client/lib/registry.js'"), [/a path inside prom-client/])
  t.match(found("import proxy from '@fastify/http-proxy/index.js'"), [/a path inside @fastify\/http-proxy/])
  t.match(found("const P = createRequire(import.meta.url)('undici/lib/dispatcher/pool.js')"), [/createRequire\/require of undici/])
  t.match(found("const require = createRequire(import.meta.url)\nconst pg = require('pg')"), [/createRequire\/require of pg/], 'through a name bound to createRequire')
  t.match(found("const m = await import(name)"), [/computed specifier/])
})

t.test('the package name of a specifier', async (t) => {
  t.same(packageOf('undici'), { name: 'undici', subpath: '' })
  t.same(packageOf('undici/lib/x.js'), { name: 'undici', subpath: 'lib/x.js' })
  t.same(packageOf('@fastify/proxy-addr'), { name: '@fastify/proxy-addr', subpath: '' })
  t.same(packageOf('@fastify/reply-from/lib/x.js'), { name: '@fastify/reply-from', subpath: 'lib/x.js' })
  t.equal(packageOf('./a.js'), null)
})
