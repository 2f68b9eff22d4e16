import { compile } from '@fastify/proxy-addr'
import type { LoadedConfig } from './config/load.js'

// What request handlers read on every request. It is swapped whole (a config reload builds a
// new one), so a request sees one consistent configuration from start to end.
export interface Runtime {
  config: LoadedConfig
  /** Is this peer a proxy whose X-Forwarded-* we believe? */
  trustPeer: (addr: string) => boolean
  /** proxy-addr's form, for fastify's request.ip: is the address `hop` steps away trusted? */
  trust: (addr: string, hop: number) => boolean
}

/** Peers remembered per runtime; past this the memory starts again (a scan cannot grow it). */
const TRUST_CACHE_MAX = 1024

export function makeRuntime (config: LoadedConfig): Runtime {
  const compiled = compile(config.settings.server.trusted_proxies)
  // proxy-addr parses the address (ipaddr.js) on every call, and every forwarded request asks
  // about the same few peers; its compiled functions ignore the hop, so the address is the key
  const known = new Map<string, boolean>()
  const trustPeer = (addr: string): boolean => {
    let t = known.get(addr)
    if (t === undefined) {
      t = compiled(addr, 0)
      if (known.size >= TRUST_CACHE_MAX) known.clear()
      known.set(addr, t)
    }
    return t
  }
  return { config, trust: (addr) => trustPeer(addr), trustPeer }
}
