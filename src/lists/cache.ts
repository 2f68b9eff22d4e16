import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

// The last good copy of each live list, on disk: the body as fetched and what is known about it.
// Written by the server and by `regguard lists refresh` alike (several instances may share the
// directory): each file is replaced by a rename, so a reader sees an old or a new file, never half.

export interface CacheMeta {
  url: string
  etag: string | null
  last_modified: string | null
  /** when the copy on disk was fetched (ms since the epoch) */
  fetched_at: number | null
  entries: number
  /** the last time the source answered, 200 or 304 */
  checked_at: number | null
  last_error: string | null
  last_error_at: number | null
}

export function cacheDir (dir: string): string {
  return resolve(dir)
}

function base (dir: string, url: string): string {
  return join(dir, createHash('sha256').update(url).digest('hex').slice(0, 32))
}

function writeAtomic (file: string, data: Buffer | string): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  writeFileSync(tmp, data)
  renameSync(tmp, file)
}

export function readMeta (dir: string, url: string): CacheMeta | null {
  try {
    const meta = JSON.parse(readFileSync(`${base(dir, url)}.json`, 'utf8')) as CacheMeta
    return meta.url === url ? meta : null
  } catch {
    return null
  }
}

export function readBody (dir: string, url: string): Buffer | null {
  try {
    return readFileSync(`${base(dir, url)}.list`)
  } catch {
    return null
  }
}

/** The body first, then its meta: a meta file never describes a body not yet written. */
export function writeCopy (dir: string, meta: CacheMeta, body: Buffer | null): void {
  mkdirSync(dir, { recursive: true })
  if (body !== null) writeAtomic(`${base(dir, meta.url)}.list`, body)
  writeAtomic(`${base(dir, meta.url)}.json`, JSON.stringify(meta, null, 2) + '\n')
}
