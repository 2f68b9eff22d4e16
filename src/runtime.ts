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

export function makeRuntime (config: LoadedConfig): Runtime {
  const trust = compile(config.settings.server.trusted_proxies)
  return { config, trust, trustPeer: (addr) => trust(addr, 0) }
}
