// Removes dist/ before `npm pack` builds it again (prepack): tsc never deletes the output of a
// source file that is gone, and the package ships dist/src as it finds it.
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

rmSync(fileURLToPath(new URL('../dist', import.meta.url)), { recursive: true, force: true })
