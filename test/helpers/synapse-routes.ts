// Synapse's own routing of the policed requestToken endpoints, written out here rather than
// imported from src/ so it can judge regguard: the raw path (never percent-decoded),
// case-sensitive, anchored, query excluded.

const SYNAPSE_TOKEN = /^\/_matrix\/client\/(?:r0|v3|unstable)\/(?:register|account\/3pid)\/(?:email|msisdn)\/requestToken$/

export function synapseRoutesToken (target: string): boolean {
  const q = target.indexOf('?')
  return SYNAPSE_TOKEN.test(q === -1 ? target : target.slice(0, q))
}
