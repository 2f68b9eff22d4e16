import { setFlagsFromString } from 'node:v8'

// Start-up runs most of its code once (the module loader, the YAML and config parsers, fastify's
// route building), yet V8 counts it hot enough to hand ~90 functions to Maglev and TurboFan. The
// optimized code is never used again, but compiling it pages in the compilers' own machine code
// (~7 MB of the node binary) and leaves their zone memory with malloc: ~9 MB of idle RSS
// (footprint bench: 85 MB without the hold, 76 MB with it, the bare node:http server at 47).
// So both optimizing tiers are off until the command has started (for `serve`: listening) and
// back on from then: the request path is optimized under load as before (verified by
// --trace-opt: ~450 functions optimized in the first seconds of load), and start-up is no
// slower (interpreted and Sparkplug code is what ran there anyway).
//
// V8 reads these flags on every tiering decision, so setting them at run time takes effect
// (test/cli/optimizer-hold.test.ts proves both ways in a fresh process). An operator's own
// compiler flags are left alone, and so are architectures where Maglev is not built in.

const COMPILER_FLAG = /maglev|turbofan|jitless|--(no-)?opt\b|max[-_]opt/
const HOLD = '--no-maglev --no-turbofan'
const SERVE = '--maglev --turbofan'

/** Holds Maglev and TurboFan off; the function returned turns them back on (idempotent). */
export function holdOptimizingCompilers (
  env: Record<string, string | undefined> = process.env,
  execArgv: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = setFlagsFromString,
  arch: string = process.arch
): () => void {
  if (arch !== 'x64' && arch !== 'arm64') return () => {}
  if (COMPILER_FLAG.test(env.NODE_OPTIONS ?? '') || execArgv.some((a) => COMPILER_FLAG.test(a))) return () => {}
  setFlags(HOLD)
  let held = true
  return () => {
    if (!held) return
    held = false
    setFlags(SERVE)
  }
}
