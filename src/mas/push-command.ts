import type { LoadedConfig } from '../config/load.js'
import { CommandError } from '../cli/errors.js'
import { MasRefusedError, MasUnavailableError } from './client.js'
import { masClient, MasConfigError, masDocument, writeState } from './push.js'

// `regguard mas push`: the policy data sent to MAS now, whatever was sent before (the operator
// asked), and recorded in mas.state_file so a running feeder does not send it again. Live lists
// go as their copies in lists.cache_dir (`regguard lists refresh` fetches them).

export interface Out { out: (text: string) => void, err: (text: string) => void }

export async function masPushCommand (config: LoadedConfig, io: Out): Promise<number> {
  const mas = config.settings.mas
  let client
  try {
    client = masClient(mas)
  } catch (err) {
    if (err instanceof MasConfigError) throw new CommandError(err.message, 2)
    throw err
  }
  const doc = masDocument(config)
  for (const n of doc.policy.notes) if (n.text.startsWith('NOT EXPORTED')) io.err(`regguard: ${n.text}\n`)
  for (const l of doc.policy.lists) {
    if (l.fetched_at !== null) io.out(`list ${l.source}: cached copy fetched ${l.fetched_at}, ${l.entries} entries\n`)
  }
  try {
    const pushed = await client.pushPolicyData(doc.body)
    io.out(`pushed to ${mas.url}: policy data ${pushed.id ?? '(no id)'}, ${Buffer.byteLength(doc.body)} bytes, sha256 ${doc.hash.slice(0, 16)}\n`)
    try {
      writeState(mas.state_file, { url: mas.url, hash: doc.hash, id: pushed.id, pushed_at: new Date().toISOString() })
    } catch (err) {
      io.err(`regguard: pushed, but cannot record it in mas.state_file ${mas.state_file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`)
    }
    return 0
  } catch (err) {
    if (err instanceof MasRefusedError) throw new CommandError(`MAS refused the policy data (400; it keeps the data it had): ${err.message}`, 3)
    if (err instanceof MasUnavailableError) throw new CommandError(`cannot push to MAS: ${err.message}`, 2)
    throw err
  }
}
