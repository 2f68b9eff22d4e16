import { leaves, SCHEMA } from './schema.js'

// Checks on the configuration as written, before convict reads it: mistakes an operator moving
// from ma1sd makes, each refused with one message that says what to do.

/** Top-level keys of ma1sd.yaml that regguard has no use for (its `register` block is read). */
const MA1SD_KEYS = ['matrix', 'key', 'threepid', 'ldap', 'synapseSql', 'sql', 'invite', 'session', 'notification',
  'view', 'rest', 'appsvc', 'directory', 'auth', 'exec', 'forward', 'firebase', 'wordpress', 'memory', 'logging',
  'hashing', 'federation', 'policy', 'crypto', 'lookup', 'bind', 'profile']

export class RawConfigError extends Error {
  constructor (message: string, readonly key?: string) { super(message) }
}

function getPath (obj: unknown, path: string): unknown {
  let cur: unknown = obj
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, k)) return undefined
    cur = (cur as Record<string, unknown>)[k]
  }
  return cur
}

/**
 * A whole ma1sd.yaml pasted in: one message naming its keys, instead of a schema error for
 * each of them. ma1sd's `server` and `storage` share a name with regguard's and are named too.
 */
export function checkNotMa1sdFile (raw: Record<string, unknown>): void {
  const own = new Set(Object.keys(SCHEMA))
  const foreign = MA1SD_KEYS.filter((k) => !own.has(k) && Object.hasOwn(raw, k))
  if (foreign.length === 0) return
  const clash = ['server', 'storage', 'dns'].filter((k) => Object.hasOwn(raw, k))
  const note = clash.length > 0 ? ` ${clash.join(', ')} ${clash.length === 1 ? 'is a regguard key too, with another meaning' : 'are regguard keys too, with other meanings'}: check ${clash.length === 1 ? 'it' : 'them'} against docs/configuration.md.` : ''
  throw new RawConfigError(`this looks like a whole ma1sd.yaml (top-level ${foreign.slice(0, 6).join(', ')}${foreign.length > 6 ? ', ...' : ''}): regguard reads only ma1sd's \`register\` block. Keep \`register:\` and remove the rest.${note}`, foreign[0])
}

/**
 * A string where a list is expected: the schema's list formats split a string on commas (the
 * environment's way to give a list), which in a file would silently turn a typo into entries.
 */
export function checkListsAreLists (raw: Record<string, unknown>): void {
  for (const [path, leaf] of leaves()) {
    if (!String(leaf.format).includes('list')) continue
    const v = getPath(raw, path)
    if (typeof v !== 'string') continue
    const shown = v.length > 80 ? `${v.slice(0, 80)}…` : v
    throw new RawConfigError(`${path}: must be a list, got the string ${JSON.stringify(shown)}; write a YAML list, e.g. ${path.split('.').pop() ?? ''}: ["a", "b"] (a comma-separated string is read only from the environment)`, path)
  }
}
