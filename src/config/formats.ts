import convict from 'convict'

// Formats shared by the schema. Each throws a message that convict prefixes with the key.

// ma1sd read its YAML as YAML 1.1 (SnakeYAML), where yes/no/on/off are booleans; regguard's
// parser is YAML 1.2, where they are strings. An ma1sd `register` block pasted as it is
// (`allowed: yes`) means what it meant there. SnakeYAML's own set: no y/n.
const TRUE_WORDS = new Set(['true', 'True', 'TRUE', 'yes', 'Yes', 'YES', 'on', 'On', 'ON'])
const FALSE_WORDS = new Set(['false', 'False', 'FALSE', 'no', 'No', 'NO', 'off', 'Off', 'OFF'])
function yaml11Boolean (v: unknown): unknown {
  if (typeof v !== 'string') return v
  return TRUE_WORDS.has(v) ? true : FALSE_WORDS.has(v) ? false : v
}
let added = false
export function addFormats (): void {
  if (added) return
  added = true
  convict.addFormat({
    name: 'string-list',
    validate (v: unknown) {
      if (v === null) return
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error('must be a list of strings')
    },
    coerce (v: unknown) {
      // from the environment: a comma-separated list
      return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v
    }
  })
  convict.addFormat({
    name: 'optional-string-list',
    validate (v: unknown) {
      if (v === null) return
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error('must be a list of strings')
    }
  })
  convict.addFormat({
    // convict's Boolean turns every string but "false" into true: "0" or "disabled" would
    // silently open registration. Only the words below are read, anything else is refused.
    name: 'boolean',
    validate (v: unknown) {
      if (typeof v !== 'boolean') throw new Error(`must be true or false (or yes/no, on/off), got ${JSON.stringify(v)}`)
    },
    coerce: yaml11Boolean
  })
  convict.addFormat({
    name: 'optional-boolean',
    validate (v: unknown) {
      if (v !== null && typeof v !== 'boolean') throw new Error(`must be true or false (or yes/no, on/off), got ${JSON.stringify(v)}`)
    },
    coerce: yaml11Boolean
  })
  convict.addFormat({
    name: 'admin-registrations',
    validate (v: unknown) {
      if (v !== 'allow' && v !== 'policy') throw new Error(`must be "allow" or "policy", got ${JSON.stringify(v)}`)
    }
  })
  convict.addFormat({
    name: 'learn-source',
    validate (v: unknown) {
      if (v !== 'traffic' && v !== 'module' && v !== 'both') throw new Error(`must be "traffic", "module" or "both", got ${JSON.stringify(v)}`)
    }
  })
  convict.addFormat({
    name: 'optional-string',
    validate (v: unknown) {
      if (v !== null && typeof v !== 'string') throw new Error('must be a string')
    }
  })
  convict.addFormat({
    name: 'http-url',
    validate (v: unknown) {
      if (typeof v !== 'string') throw new Error('must be a URL string')
      let u: URL
      try { u = new URL(v) } catch { throw new Error(`must be an http:// or https:// URL, got ${JSON.stringify(v)}`) }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`must be an http:// or https:// URL, got ${JSON.stringify(v)}`)
      if (u.pathname !== '/' || u.search !== '') throw new Error('must be an origin without a path (http://host:port)')
    }
  })
  convict.addFormat({
    name: 'positive-int',
    validate (v: unknown) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error('must be a whole number of at least 1')
    },
    coerce (v: unknown) { return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v }
  })
  convict.addFormat({
    name: 'ipv6-prefix',
    validate (v: unknown) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 128) throw new Error('must be a prefix length from 0 to 128')
    },
    coerce (v: unknown) { return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v }
  })
  convict.addFormat({
    name: 'log-level',
    validate (v: unknown) {
      const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
      if (typeof v !== 'string' || !levels.includes(v)) throw new Error(`must be one of ${levels.join(', ')}`)
    }
  })
}
