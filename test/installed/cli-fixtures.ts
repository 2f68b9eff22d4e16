import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import YAML from 'yaml'
import { tempDir } from './run.js'

// What the CLI test files share: a policy with every rule kind the commands print, and a config
// file in a folder of its own.

export const POLICY = {
  register: {
    policy: {
      allowed: false,
      threepid: {
        email: { domain: { whitelist: ['*example.org'], blacklist: ['evil.example.org'] } },
        msisdn: { pattern: { whitelist: ['44\\d+'], blacklist: ['447700900666'] } }
      },
      username: { banned: { literals: ['root'] } },
      requester: { banned_ips: ['203.0.113.0/24'] }
    }
  }
}

/** A config file in a fresh folder (the store and list cache inside it); its path. */
export function configFile (t: { teardown: (fn: () => unknown) => void }, config: Record<string, unknown>): { dir: string, file: string } {
  const dir = tempDir(t)
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, YAML.stringify({ storage: { url: `sqlite://${join(dir, 'store', 'regguard.sqlite')}` }, lists: { cache_dir: join(dir, 'lists') }, ...config }))
  return { dir, file }
}
