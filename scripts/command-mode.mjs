// Makes the built command (package.json's bin, dist/src/cli.js) executable, as `regguard` is run
// from the working tree through its shebang: tsc writes its output without the mode (npm sets it
// when it installs the package). Run by `npm run build` and `prepare`.
import { chmodSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url))
chmodSync(cli, statSync(cli).mode | 0o111)
