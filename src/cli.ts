#!/usr/bin/env -S node --no_maglev --no_turbofan
import { holdCompilers } from './cli/compilers.js'

// The regguard command: the commands are in src/cli/ (tests run them in-process through run()).
//
// Start-up runs most of its code once (the module loader, the YAML and config parsers, fastify's
// route building), yet V8 finds enough of it hot to hand ~90 functions to Maglev and TurboFan.
// That optimized code is never used again, but compiling it pages in the compilers' own machine
// code and leaves their zone memory with malloc: ~11 MB of idle RSS (footprint bench). So both
// optimizing tiers are off until the command has started (for `serve`: listening) and on from
// then, where the request paths are optimized under load as before. V8 reads these flags at
// every tiering decision, so setting them at run time takes effect (test/cli/entry.test.ts).
// The shebang starts node with them off (src/cli/compilers.ts: node's own resolution of this
// file's path is enough to optimize its path functions); run as `node cli.js`, they are set by
// this first statement, which is bundled into this file so that no other file is resolved first.
const releaseCompilers = holdCompilers()

// The young generation is held and the deferred requires installed before the modules are
// loaded, so the rest is imported dynamically. No compile cache: with the compilers held it
// saved ~25 ms of start-up and kept ~2.4 MB of cached code in memory (bench/RESULTS.md).
const { holdYoungGeneration } = await import('./cli/young-generation.js')
const { deferUnusedRequires } = await import('./deferred-requires.js')
const releaseYoung = holdYoungGeneration()
const stopDeferring = deferUnusedRequires()
const started = (): void => {
  releaseYoung()
  stopDeferring()
  releaseCompilers()
}
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
