#!/usr/bin/env node
import { enableCompileCache } from 'node:module'

// The regguard command: the commands are in src/cli/ (tests run them in-process through run()).
// Node's compile cache (the V8 code of every module, kept in the OS temp directory) makes a
// restart skip compiling the ~600 modules regguard loads: about 90 ms less start-up CPU. It is
// enabled before anything else is imported, so src/cli/main.js is imported dynamically.
// NODE_DISABLE_COMPILE_CACHE=1 turns it off, NODE_COMPILE_CACHE=DIR moves it; an unwritable
// directory only means no cache.
enableCompileCache?.()
const { run } = await import('./cli/main.js')

run(process.argv.slice(2), {
  out: (text) => { process.stdout.write(text) },
  err: (text) => { process.stderr.write(text) },
  env: process.env
}).then((code) => {
  if (code >= 0) process.exitCode = code
}, (err) => {
  process.stderr.write(`regguard: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
