import type { LoadedConfig } from '../config/load.js'
import { LiveLists, type RefreshResult } from '../lists/live.js'
import { ListsUsageError } from './errors.js'

// `regguard lists status` and `regguard lists refresh`: the live lists as the cache directory
// holds them (what a restarted server would use), and a fetch into it now.

export interface Out { out: (text: string) => void, err: (text: string) => void }

/** The lists of a configuration, loaded from the cache directory; nothing is fetched. */
export function cachedLists (config: LoadedConfig): LiveLists {
  const lists = new LiveLists(config.settings.lists, { schedule: false })
  lists.adopt(config)
  return lists
}

export async function listsCommand (config: LoadedConfig, sub: string | undefined, io: Out): Promise<number> {
  const lists = cachedLists(config)
  try {
    if (sub === 'status') {
      const status = lists.status()
      if (status.length === 0) { io.out('no live lists configured (register.policy.threepid.email.domain.*_urls)\n'); return 0 }
      for (const s of status) {
        const copy = s.fetched_at === null ? 'no cached copy' : `${s.entries} entries, fetched ${s.fetched_at} (${s.age_seconds ?? 0} s ago)`
        const last = s.last_error !== null ? `, last refresh failed at ${s.last_error_at ?? '?'}: ${s.last_error}` : s.checked_at !== null ? `, last checked ${s.checked_at}` : ''
        io.out(`${s.sides.join('+')} ${s.source}: ${copy}${last}\n`)
      }
      return 0
    }
    if (sub === 'refresh') {
      const results = await lists.refreshAll()
      if (results.length === 0) { io.out('no live lists configured (register.policy.threepid.email.domain.*_urls)\n'); return 0 }
      let failed = false
      for (const r of results) {
        io.out(`${r.result} ${r.source}: ${describe(r)}\n`)
        if (r.cacheError !== undefined) io.err(`regguard: ${r.source}: cannot write to ${config.settings.lists.cache_dir}: ${r.cacheError}\n`)
        if (r.result === 'error' || r.result === 'refused' || r.cacheError !== undefined) failed = true
      }
      // 3, not 1: 1 is "deny" (policy check); a failed fetch is a failure to do what was asked
      if (failed) io.err('regguard: not every live list was refreshed (see above); the copies kept are still used\n')
      return failed ? 3 : 0
    }
    throw new ListsUsageError('lists needs: status or refresh')
  } finally {
    await lists.close()
  }
}

export { ListsUsageError }

function describe (r: RefreshResult): string {
  if (r.result === 'ok') return `${r.entries} entries`
  if (r.result === 'not_modified') return `not modified, ${r.entries} entries`
  return `${r.why ?? 'failed'}; ${r.entries} entries kept`
}
