import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { compilePattern, emptySide, PolicyConfigError, type ListSide, type Policy } from '../policy/policy.js'
import type { Settings } from './settings.js'

// Turns the register.policy settings (and the list files they name) into a compiled Policy.
// Every problem names the key, and for files the file and line.

function addDomains (side: ListSide, entries: Iterable<string>, where: (i: number) => string): void {
  let i = 0
  for (const entry of entries) {
    i++
    if (!side.domains.add(entry)) throw new PolicyConfigError(where(i), `${JSON.stringify(entry)} is not a domain`)
  }
}

function* fileEntries (text: string): Generator<[number, string]> {
  const lines = text.split('\n')
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n] as string
    const hash = line.indexOf('#')
    if (hash !== -1) line = line.slice(0, hash)
    line = line.trim()
    if (line !== '') yield [n + 1, line]
  }
}

function addDomainFiles (side: ListSide, files: string[], key: string, baseDir: string): void {
  files.forEach((file, idx) => {
    const path = resolve(baseDir, file)
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      throw new PolicyConfigError(`${key}[${idx}]`, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    for (const [line, entry] of fileEntries(text)) {
      if (!side.domains.add(entry)) throw new PolicyConfigError(`${key}[${idx}]`, `${path}:${line}: ${JSON.stringify(entry)} is not a domain`)
    }
    side.domainSources.push(path)
  })
}

export function buildPolicy (settings: Settings, baseDir: string): Policy {
  const p = settings.register.policy
  const base = 'register.policy.threepid'
  const policy: Policy = {
    allowed: p.allowed,
    invite: p.invite,
    email: { whitelist: emptySide(), blacklist: emptySide() },
    msisdn: { whitelist: emptySide(), blacklist: emptySide() }
  }
  for (const color of ['whitelist', 'blacklist'] as const) {
    const side = policy.email[color]
    const key = `${base}.email.domain.${color}`
    addDomains(side, p.threepid.email.domain[color], (i) => `${key}[${i - 1}]`)
    if (p.threepid.email.domain[color].length > 0) side.domainSources.push(key)
    addDomainFiles(side, p.threepid.email.domain[`${color}_files`], `${key}_files`, baseDir)
    side.patterns = p.threepid.email.pattern[color].map((src, i) => compilePattern(src, `${base}.email.pattern.${color}[${i}]`))
    policy.msisdn[color].patterns = p.threepid.msisdn.pattern[color].map((src, i) => compilePattern(src, `${base}.msisdn.pattern.${color}[${i}]`))
  }
  return policy
}
