import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { newSlot } from '../policy/live-slot.js'
import { compilePattern, emptyMxPolicy, emptySide, PolicyConfigError, type ListSide, type Policy } from '../policy/policy.js'
import type { Settings } from './settings.js'

// Turns the register.policy settings (and the list files they name) into a compiled Policy.
// Every problem names the key, and for files the file and line.

function addDomains (side: ListSide, entries: Iterable<string>, where: (i: number) => string, source: number): void {
  let i = 0
  for (const entry of entries) {
    i++
    if (!side.domains.add(entry, source)) throw new PolicyConfigError(where(i), `${JSON.stringify(entry)} is not a domain`)
  }
}

// Walked line by line in the bytes rather than split: a million-line list as an array of
// lines would stay in RSS long after the load, and so would the whole text as one string
// (every line sliced from it keeps it alive, e.g. as a RegExp's last input). Cutting the
// UTF-8 bytes at "\n" and "#" is safe: ASCII bytes never occur inside a multi-byte character.
export function* fileEntries (bytes: Buffer): Generator<[number, string]> {
  let n = 0
  // the next "#" at or after the current line; searched again only once passed
  let hash = bytes.indexOf(0x23)
  for (let start = 0; start <= bytes.length;) {
    let end = bytes.indexOf(0x0a, start)
    if (end === -1) end = bytes.length
    n++
    if (hash !== -1 && hash < start) hash = bytes.indexOf(0x23, start)
    const line = bytes.toString('utf8', start, hash !== -1 && hash < end ? hash : end).trim()
    if (line !== '') yield [n, line]
    start = end + 1
  }
}

function addDomainFiles (side: ListSide, files: string[], key: string, baseDir: string): void {
  files.forEach((file, idx) => {
    const path = resolve(baseDir, file)
    let bytes: Buffer
    try {
      bytes = readFileSync(path)
    } catch (err) {
      throw new PolicyConfigError(`${key}[${idx}]`, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    // numbered before its entries are added: a decision names the file its entry came from
    side.domainSources.push(path)
    const source = side.domainSources.length
    for (const [line, entry] of fileEntries(bytes)) {
      if (!side.domains.add(entry, source)) throw new PolicyConfigError(`${key}[${idx}]`, `${path}:${line}: ${JSON.stringify(entry)} is not a domain`)
    }
  })
}

export function buildPolicy (settings: Settings, baseDir: string): Policy {
  const p = settings.register.policy
  const base = 'register.policy.threepid'
  const policy: Policy = {
    allowed: p.allowed,
    invite: p.invite,
    inviteOverridesBlacklist: p.invite_overrides_blacklist,
    email: { whitelist: emptySide(), blacklist: emptySide(), mx: emptyMxPolicy() },
    msisdn: { whitelist: emptySide(), blacklist: emptySide() }
  }
  for (const color of ['whitelist', 'blacklist'] as const) {
    const side = policy.email[color]
    const key = `${base}.email.domain.${color}`
    if (p.threepid.email.domain[color].length > 0) side.domainSources.push(key)
    addDomains(side, p.threepid.email.domain[color], (i) => `${key}[${i - 1}]`, side.domainSources.length)
    addDomainFiles(side, p.threepid.email.domain[`${color}_files`], `${key}_files`, baseDir)
    side.patterns = p.threepid.email.pattern[color].map((src, i) => compilePattern(src, `${base}.email.pattern.${color}[${i}]`))
    // filled by src/lists/live.ts from its cache and fetches: loading config never waits on the network
    side.live = [...new Set(p.threepid.email.domain[`${color}_urls`])].map(newSlot)
    const mxKey = `${base}.email.mx.${color}`
    p.threepid.email.mx[color].forEach((entry, i) => {
      if (!policy.email.mx[color].add(entry)) throw new PolicyConfigError(`${mxKey}[${i}]`, `${JSON.stringify(entry)} is not a host name`)
    })
    policy.msisdn[color].patterns = p.threepid.msisdn.pattern[color].map((src, i) => compilePattern(src, `${base}.msisdn.pattern.${color}[${i}]`))
  }
  policy.email.mx.require = p.threepid.email.mx.require
  policy.email.mx.onError = p.threepid.email.mx.on_error
  return policy
}
