import { setFlagsFromString } from 'node:v8'

// V8's optimizing compilers (Maglev, TurboFan) are held off through start-up and released once
// the command has started (for `serve`: listening); src/cli.ts says why (idle RSS).
//
// Held from the first statement is not early enough: node resolves the entry's own path before
// any of regguard's code runs, and from an install path of about 40 characters or more
// (/usr/lib/node_modules/matrix-regguard/dist/regguard/cli.js is 58) that alone makes V8 compile
// the path functions with Maglev: 2.4 MB more of node's machine code resident at idle, measured
// from /proc/PID/smaps (bench/RESULTS.md). So the command's shebang starts node with them off,
// and these are its flags. They are spelled with underscores, which V8 reads as the dashed
// spelling an operator types, so that `node --no-maglev cli.js` stays the operator's choice.
export const LAUNCH_FLAGS = ['--no_maglev', '--no_turbofan'] as const

const COMPILER_FLAG = /maglev|turbofan|jitless|--(no-)?opt\b|max[-_]opt/
const HELD_ARCH = new Set(['x64', 'arm64'])

export interface Launch {
  env: Record<string, string | undefined>
  execArgv: readonly string[]
  arch: string
  setFlags: (flags: string) => void
}

/** Did the process start with the shebang's flags (as the installed command does)? */
export function launchedHeld (execArgv: readonly string[]): boolean {
  return LAUNCH_FLAGS.every((flag, i) => execArgv[i] === flag)
}

/**
 * Holds the optimizing compilers (or finds them held by the shebang); the function returned
 * releases them (idempotent). An operator's own compiler flags (on node's command line or in
 * NODE_OPTIONS) are left alone, and so are architectures without Maglev.
 */
export function holdCompilers ({ env, execArgv, arch, setFlags }: Launch = {
  env: process.env, execArgv: process.execArgv, arch: process.arch, setFlags: setFlagsFromString
}): () => void {
  const launched = launchedHeld(execArgv)
  const operators = [...(env.NODE_OPTIONS ?? '').split(/\s+/), ...execArgv.slice(launched ? LAUNCH_FLAGS.length : 0)]
    .filter((a) => COMPILER_FLAG.test(a))
  if (!HELD_ARCH.has(arch) || operators.length > 0) {
    // the shebang's flags are not the operator's: undone at once, the operator's applied after
    if (launched) setFlags([HELD_ARCH.has(arch) ? '--maglev' : '', '--turbofan', ...operators].join(' ').trim())
    return () => {}
  }
  if (!launched) setFlags('--no-maglev --no-turbofan')
  let held = true
  return () => {
    if (!held) return
    held = false
    setFlags('--maglev --turbofan')
  }
}
