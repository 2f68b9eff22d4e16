import { fileURLToPath } from 'node:url'

/** The command as installed (package.json's bin): the bundle scripts/bundle-cli.mjs builds from dist/src/cli.js */
export const CLI = fileURLToPath(new URL('../../dist/regguard/cli.js', import.meta.url))
