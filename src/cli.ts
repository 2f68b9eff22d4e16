#!/usr/bin/env node
import { run } from './cli/main.js'

// The regguard command (package.json's bin): the commands are in src/cli/, which tests run
// in-process through run().

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
