import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Dispatcher } from 'undici'
import type { LoadedConfig } from '../config/load.js'
import type { Settings } from '../config/settings.js'
import { MasClient } from './client.js'
import { masPolicy, type MasPolicy } from './policy-data.js'

// What `regguard mas push` and the feeder share: the document, its hash, the client, and the
// record of the last document MAS accepted (mas.state_file).

export interface MasDocument {
  /** The request body: {"data": ...} */
  body: string
  /** sha256 of the body, hex */
  hash: string
  policy: MasPolicy
}

export interface PushState {
  /** mas.url the document went to: another MAS has not had it */
  url: string
  hash: string
  id: string | null
  pushed_at: string
}

export class MasConfigError extends Error {}

export function masDocument (config: LoadedConfig): MasDocument {
  const policy = masPolicy(config)
  const body = JSON.stringify({ data: policy.data })
  return { body, hash: createHash('sha256').update(body).digest('hex'), policy }
}

/** The client's secret: mas.client_secret_file's first line, else mas.client_secret. */
export function clientSecret (mas: Settings['mas']): string {
  if (mas.client_secret_file !== '') {
    let text: string
    try {
      text = readFileSync(resolve(mas.client_secret_file), 'utf8')
    } catch (err) {
      throw new MasConfigError(`mas.client_secret_file: cannot read ${resolve(mas.client_secret_file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    const secret = (text.split(/\r?\n/)[0] ?? '').trim()
    if (secret === '') throw new MasConfigError(`mas.client_secret_file: ${resolve(mas.client_secret_file)} holds no secret on its first line`)
    return secret
  }
  return mas.client_secret
}

export function masClient (mas: Settings['mas'], dispatcher?: Dispatcher): MasClient {
  if (mas.url === '') throw new MasConfigError('mas.url is not set: nothing to push to')
  if (mas.client_id === '') throw new MasConfigError('mas.client_id is not set')
  const secret = clientSecret(mas)
  if (secret === '') throw new MasConfigError('mas.client_secret (or mas.client_secret_file) is not set')
  return new MasClient({ url: mas.url, clientId: mas.client_id, clientSecret: secret, timeoutMs: mas.timeout_ms, ...(dispatcher !== undefined ? { dispatcher } : {}) })
}

export function readState (file: string): PushState | null {
  let text: string
  try {
    text = readFileSync(resolve(file), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  try {
    const s = JSON.parse(text) as Partial<PushState>
    return typeof s.url === 'string' && typeof s.hash === 'string' ? { url: s.url, hash: s.hash, id: typeof s.id === 'string' ? s.id : null, pushed_at: String(s.pushed_at) } : null
  } catch {
    // a damaged record only costs one push
    return null
  }
}

/** Replaced by a rename: instances sharing the file read an old record or a new one. */
export function writeState (file: string, state: PushState): void {
  const path = resolve(file)
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n')
  renameSync(tmp, path)
}
