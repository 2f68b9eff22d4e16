import { BlockList } from 'node:net'
import type { LoadedConfig } from '../config/load.js'
import { canonicalEmail, canonicalMsisdnNumber, type Medium } from '../synapse/canonical.js'
import { decideAddress } from '../decide.js'
import { MxResolver } from '../dns/mx.js'
import { describeDecision } from '../policy/policy.js'
import { decideRequester, describeRequesterDecision } from '../policy/requester.js'
import { emptyConstraints } from '../policy/string-constraints.js'
import { decideUsername, describeUsernameDecision, registeredLocalpart } from '../policy/username.js'
import { CommandError, CommandUsageError } from './errors.js'
import { pendingForCheck } from './invites.js'
import { cachedLists } from './lists.js'
import type { CliIo } from './main.js'

// `regguard policy check`: the decision regguard would make, and the rule that made it.

export interface RequesterOptions { ip: string | undefined, userAgent: string | undefined }

export async function policyCheck (io: CliIo, config: LoadedConfig, medium: string | undefined, address: string | undefined, requester: RequesterOptions, noDns: boolean): Promise<number> {
  const judgeRequester = requester.ip !== undefined || requester.userAgent !== undefined
  if (judgeRequester) {
    const rules = config.policy.requester ?? { ips: [], anyIp: new BlockList(), userAgents: emptyConstraints() }
    const d = decideRequester(rules, requester.ip ?? null, requester.userAgent !== undefined ? [requester.userAgent] : [])
    const who = [requester.ip !== undefined ? `ip ${requester.ip}` : null, requester.userAgent !== undefined ? `user-agent ${JSON.stringify(requester.userAgent)}` : null].filter((x) => x !== null).join(' ')
    io.out(`${d.allowed ? 'allow' : 'deny'} requester ${who}: ${describeRequesterDecision(d)}\n`)
    if (!d.allowed) return 1
    if (medium === undefined) return 0
  }
  if (medium === 'username' && address !== undefined) {
    const name = registeredLocalpart(address)
    const rules = config.policy.username ?? { allowed: emptyConstraints(), banned: emptyConstraints() }
    const d = decideUsername(rules, name)
    io.out(`${d.allowed ? 'allow' : 'deny'} username ${name}: ${describeUsernameDecision(d)}\n`)
    return d.allowed ? 0 : 1
  }
  if ((medium !== 'email' && medium !== 'msisdn') || address === undefined) throw new CommandUsageError('policy check needs: email ADDRESS, msisdn NUMBER, username NAME, or --ip ADDR / --user-agent UA')
  const canonical = medium === 'email' ? canonicalEmail(address) : canonicalMsisdnNumber(address)
  if (!canonical.ok) throw new CommandError(`cannot parse ${medium} ${JSON.stringify(address)}: ${canonical.reason}`)
  const lists = cachedLists(config)
  for (const s of lists.status()) {
    if (s.fetched_at === null) io.err(`regguard: note: ${s.source} has no cached copy (regguard lists refresh fetches it)\n`)
  }
  await lists.close()
  // the invite is asked first, as the order reads: the rule named is the one that decided
  const { decision, mx } = await decideAddress(config.policy, medium as Medium, canonical.address, {
    findInvite: () => pendingForCheck(config, medium as Medium, canonical.address),
    lookupMx: noDns ? null : new MxResolver(config.settings.dns).lookup,
    inviteFirst: true
  })
  const skipped = mx?.kind === 'skipped' ? ' (mail-server rules not checked: --no-dns)' : ''
  io.out(`${decision.allowed ? 'allow' : 'deny'} ${medium} ${canonical.address}: ${describeDecision(decision)}${skipped}\n`)
  return decision.allowed ? 0 : 1
}
