import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import convict from 'convict'
import YAML, { LineCounter, type Node as YamlNode } from 'yaml'
import { PolicyConfigError, type Policy } from '../policy/policy.js'
import { buildPolicy } from './lists.js'
import { checkListsAreLists, checkNotMa1sdFile, RawConfigError } from './raw-checks.js'
import { convictSchema, envName, leaves } from './schema.js'
import { addUserRules } from './user-rules.js'
import type { Settings } from './settings.js'

export class ConfigError extends Error {
  constructor (message: string, readonly key?: string) {
    super(message)
  }
}

export interface LoadedConfig {
  settings: Settings
  policy: Policy
  /** Absolute path of the file it came from, if any. */
  file: string | null
}

export interface LoadOptions {
  file?: string | null
  /** A parsed configuration given directly instead of a file (tests, embedding) */
  object?: unknown
  /** Where relative list files are found when no file is given (default: working directory) */
  baseDir?: string
  env?: NodeJS.ProcessEnv
}

function getPath (obj: unknown, path: string): unknown {
  let cur: unknown = obj
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(k in (cur as object))) return undefined
    cur = (cur as Record<string, unknown>)[k]
  }
  return cur
}

export function readConfigFile (file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return parseConfigText(text, file)
}

/**
 * YAML 1.2 (a superset of JSON, so one parser reads both). Errors name the line and column; an
 * alias with no anchor, which is what an unquoted `- *example.org` is, gets the hint to quote it.
 */
export function parseConfigText (text: string, file: string): unknown {
  const lines = new LineCounter()
  const doc = YAML.parseDocument(text, { uniqueKeys: true, lineCounter: lines, prettyErrors: true })
  const first = doc.errors[0]
  if (first !== undefined) throw new ConfigError(`config file ${file} is not valid YAML or JSON: ${first.message.trimEnd()}`)
  const anchors = new Set<string>()
  let unresolved: { source: string, at: number } | undefined
  YAML.visit(doc, {
    Node (_key, node: YamlNode) {
      if (YAML.isAlias(node)) {
        if (!anchors.has(node.source) && unresolved === undefined) unresolved = { source: node.source, at: node.range?.[0] ?? 0 }
      } else if (node.anchor !== undefined) {
        anchors.add(node.anchor)
      }
    }
  })
  if (unresolved !== undefined) {
    const { line, col } = lines.linePos(unresolved.at)
    const written = `*${unresolved.source}`
    throw new ConfigError(`config file ${file}, line ${line}, column ${col}: ${written} is read by YAML as an alias (a reference to an anchor &${unresolved.source}), not as text: quote it, '${written}'`)
  }
  try {
    return doc.toJS({ maxAliasCount: 100 }) ?? {}
  } catch (err) {
    // what toJS still refuses (an alias expanding past the count): a YAML error, not a crash
    if (err instanceof ReferenceError || err instanceof RangeError || (err as Error).name === 'YAMLError') {
      throw new ConfigError(`config file ${file} is not valid YAML or JSON: ${(err as Error).message}`)
    }
    throw err
  }
}

/**
 * ma1sd's code reads register.policy.*, its doc writes register.*; both are accepted. A key
 * given both ways with different values is an error naming both.
 */
function mergeDocLayout (cfg: convict.Config<Record<string, unknown>>, raw: unknown, env: NodeJS.ProcessEnv): void {
  for (const [path, leaf] of leaves()) {
    if (!leaf.sampleCommented || !path.startsWith('register.')) continue
    const value = cfg.get(path as never) as unknown
    if (value === null || value === undefined) continue
    const target = path.replace(/^register\./, 'register.policy.')
    const explicit = getPath(raw, target) !== undefined || env[envName(target)] !== undefined
    const current = cfg.get(target as never) as unknown
    if (explicit && !isDeepStrictEqual(current, value)) {
      throw new ConfigError(`${path} and ${target} are both set, to different values (${JSON.stringify(value)} and ${JSON.stringify(current)}): keep one`, path)
    }
    cfg.set(target as never, value as never)
  }
}

function nullListsToEmpty (cfg: convict.Config<Record<string, unknown>>): void {
  for (const [path, leaf] of leaves()) {
    if (leaf.format === 'string-list' && cfg.get(path as never) === null) cfg.set(path as never, [] as never)
  }
}

export function loadConfig (opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env
  const file = opts.file != null ? resolve(opts.file) : null
  const raw = file !== null ? readConfigFile(file) : opts.object ?? {}
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`config file ${file ?? ''} must hold a mapping of keys`)
  }
  try {
    checkNotMa1sdFile(raw as Record<string, unknown>)
    checkListsAreLists(raw as Record<string, unknown>)
  } catch (err) {
    if (err instanceof RawConfigError) throw new ConfigError(`invalid configuration${file !== null ? ` (${file})` : ''}: ${err.message}`, err.key)
    throw err
  }
  const cfg = convict(convictSchema() as never, { env, args: [] }) as unknown as convict.Config<Record<string, unknown>>
  try {
    cfg.load(raw)
    cfg.validate({ allowed: 'strict' })
  } catch (err) {
    const msg = (err as Error).message
    const key = /^([\w.]+):/.exec(msg)?.[1] ?? /param '([^']+)'/.exec(msg)?.[1]
    throw new ConfigError(`invalid configuration: ${msg}`, key)
  }
  mergeDocLayout(cfg, raw, env)
  nullListsToEmpty(cfg)
  const settings = cfg.getProperties() as unknown as Settings
  let policy: Policy
  try {
    policy = buildPolicy(settings, file !== null ? dirname(file) : opts.baseDir ?? process.cwd())
    addUserRules(policy, settings)
  } catch (err) {
    if (err instanceof PolicyConfigError) throw new ConfigError(`invalid configuration: ${err.message}`, err.key)
    throw err
  }
  return { settings, policy, file }
}
