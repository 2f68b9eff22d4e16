#!/usr/bin/env node
import type { CliIo } from './cli/main.js'

// The regguard command (package.json's bin): the commands are in src/cli/, which tests run
// in-process through run(). Nothing is imported statically: the Node version is checked first,
// because better-sqlite3's binary crashes (a bare "Segmentation fault") on a Node it was not
// built for, and a systemd unit would restart into that crash forever.

const MIN_NODE_MAJOR = 22
const major = Number(process.versions.node.split('.')[0])
if (!(major >= MIN_NODE_MAJOR)) {
  process.stderr.write(`regguard needs Node.js ${MIN_NODE_MAJOR} or later (this is ${process.versions.node}, ${process.execPath}).\n` +
    'Get a current one from https://nodejs.org/en/download or https://github.com/nodesource/distributions,\n' +
    'or from a regguard checkout: bash .ci/install-node.sh 24, then put /opt/regguard-node/24/bin first on PATH.\n')
  process.exit(1)
}

const io: CliIo = {
  out: (text) => { process.stdout.write(text) },
  err: (text) => { process.stderr.write(text) },
  env: process.env
}
import('./cli/main.js').then(async ({ run }) => await run(process.argv.slice(2), io)).then((code) => {
  if (code >= 0) process.exitCode = code
}, (err) => {
  process.stderr.write(`regguard: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(3)
})
