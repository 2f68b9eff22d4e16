#!/usr/bin/env node
import { enableOwnCompileCache } from './compile-cache.js'

// The regguard command: the commands are in src/cli/ (tests run them in-process through run()).
// The compile cache must be enabled before the modules it covers are loaded, so
// src/cli/main.js is imported dynamically.
enableOwnCompileCache()
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
