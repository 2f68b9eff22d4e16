#!/usr/bin/env node
import { holdOptimizingCompilers } from './cli/optimizer-hold.js'
import { holdYoungGeneration } from './cli/young-generation.js'
import { enableOwnCompileCache } from './compile-cache.js'

// The regguard command: the commands are in src/cli/ (tests run them in-process through run()).
// The compile cache must be enabled before the modules it covers are loaded, so
// src/cli/main.js is imported dynamically.
enableOwnCompileCache()
// before the modules are loaded: their survivors would grow the young generation, and their
// one-off start-up code would be optimized for nothing (both cost idle RSS)
const releaseYoung = holdYoungGeneration()
const releaseCompilers = holdOptimizingCompilers()
const started = (): void => { releaseYoung(); releaseCompilers() }
const { run } = await import('./cli/main.js')

run(process.argv.slice(2), {
  out: (text) => { process.stdout.write(text) },
  err: (text) => { process.stderr.write(text) },
  env: process.env,
  started
}).then((code) => {
  if (code >= 0) process.exitCode = code
}, (err) => {
  process.stderr.write(`regguard: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
