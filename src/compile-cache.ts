import { lstatSync, mkdirSync } from 'node:fs'
import { enableCompileCache } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Node's compile cache (the V8 code of every module regguard loads), so a restart skips
// compiling them: about 100 ms less start-up for about 4 MB of RSS (bench/RESULTS.md).
//
// Not Node's default directory: that is os.tmpdir()/node-compile-cache, shared by every user,
// and whoever can write the cache decides the code this process runs. So it is a directory of
// this user's own, created 0700; one that already exists is used only when it is a real
// directory owned by this user that nobody else may write (the sticky /tmp keeps anyone else
// from replacing it afterwards). Otherwise, or on a platform without user ids, no cache.
// NODE_COMPILE_CACHE=DIR (the operator's own choice) and NODE_DISABLE_COMPILE_CACHE=1 are
// Node's and take precedence.

/** The directory in use, or null; never throws (a cache is an optimisation). */
export function enableOwnCompileCache (env: Record<string, string | undefined> = process.env): string | null {
  try {
    if (env.NODE_COMPILE_CACHE !== undefined || env.NODE_DISABLE_COMPILE_CACHE !== undefined) return enableCompileCache().directory ?? null
    const uid = process.getuid?.()
    if (uid === undefined) return null
    const dir = join(tmpdir(), `regguard-compile-cache-${uid}`)
    mkdirSync(dir, { mode: 0o700, recursive: true })
    const st = lstatSync(dir)
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return null
    return enableCompileCache(dir).directory ?? null
  } catch {
    return null
  }
}
