import * as nodeModule from 'node:module'

// Two dependencies require at load what regguard uses only with TLS or HTTP/2: fastify's
// lib/server.js requires node:https and node:http2 (used only by createServer with the `https`
// or `http2` option, which regguard never passes), and undici's Client requires its HTTP/2
// connector, which requires node:http2 (used only when a TLS connection negotiates h2). Loading
// node:http2 loads node:tls, and tls initialises OpenSSL's TLS side: together about 3.5 MB of
// RSS that a plain-HTTP deployment carries for nothing, idle or under load (footprint bench).
//
// So, through Node's module hooks, those two dependencies get stand-ins that load the real
// module the first time it is used: a builtin on the first property read, undici's connector on
// the first call. Behaviour is unchanged (the stand-in hands out the real module's values and
// calls), only the time of loading moves: an https:// homeserver still loads tls, through
// undici's own connector, when it first connects. Nothing else is touched: the hooks match
// these exact requests from these exact files, and are removed once the app is built.
// Without module.registerHooks (Node before 22.15) everything loads as before.

const SCHEME = 'regguard-deferred:'

interface Deferral {
  /** the request as written in the file */
  specifier: string
  /** the requiring file, as the end of its URL */
  parent: string
  kind: 'builtin' | 'function'
}

export const DEFERRALS: readonly Deferral[] = [
  { specifier: 'node:https', parent: '/node_modules/fastify/lib/server.js', kind: 'builtin' },
  { specifier: 'node:http2', parent: '/node_modules/fastify/lib/server.js', kind: 'builtin' },
  { specifier: './client-h2.js', parent: '/node_modules/undici/lib/dispatcher/client.js', kind: 'function' }
]

/** The stand-in's URL for a request, or null when the request is not deferred. */
export function deferredUrl (specifier: string, parentURL: string | undefined): string | null {
  if (parentURL === undefined) return null
  const d = DEFERRALS.find((x) => x.specifier === specifier && parentURL.endsWith(x.parent))
  if (d === undefined) return null
  const target = d.kind === 'builtin' ? specifier : new URL(specifier, parentURL).href
  return `${SCHEME}${d.kind}:${target}`
}

/** The stand-in's CommonJS source for a URL from deferredUrl, or null for any other URL. */
export function deferredSource (url: string): string | null {
  if (!url.startsWith(SCHEME)) return null
  const rest = url.slice(SCHEME.length)
  const colon = rest.indexOf(':')
  const kind = rest.slice(0, colon)
  const target = rest.slice(colon + 1)
  if (kind === 'builtin') {
    // every trap goes to the real module, so the stand-in reads as it does (property reads,
    // `in`, enumeration), loaded by the first of them
    return `'use strict'
let real
const get = () => (real ??= process.getBuiltinModule(${JSON.stringify(target)}))
module.exports = new Proxy({}, {
  get: (_, key) => get()[key],
  has: (_, key) => key in get(),
  ownKeys: () => Reflect.ownKeys(get()),
  getOwnPropertyDescriptor: (_, key) => { const d = Reflect.getOwnPropertyDescriptor(get(), key); if (d !== undefined) d.configurable = true; return d }
})
`
  }
  if (kind === 'function') {
    const file = new URL(target).pathname
    return `'use strict'
let real
module.exports = function deferred (...args) {
  real ??= process.getBuiltinModule('node:module').createRequire(${JSON.stringify(file)})(${JSON.stringify(file)})
  return real.apply(this, args)
}
`
  }
  return null
}

/** Installs the hooks; the function returned removes them (idempotent). */
export function deferUnusedRequires (): () => void {
  const register = (nodeModule as { registerHooks?: typeof nodeModule.registerHooks }).registerHooks
  if (typeof register !== 'function') return () => {}
  const hooks = register({
    resolve (specifier, context, next) {
      const url = deferredUrl(specifier, context.parentURL)
      if (url === null) return next(specifier, context)
      return { url, format: 'commonjs', shortCircuit: true }
    },
    load (url, context, next) {
      const source = deferredSource(url)
      if (source === null) return next(url, context)
      return { format: 'commonjs', source, shortCircuit: true }
    }
  })
  let installed = true
  return () => {
    if (!installed) return
    installed = false
    hooks.deregister()
  }
}
