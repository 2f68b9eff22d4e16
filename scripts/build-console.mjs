// Builds the operator console (console/) into dist/console/: one JS bundle, one CSS file and
// index.html, all served by regguard itself (src/admin/console.ts). Run by `npm run build` and
// `prepare` (so `npm ci` builds it). Nothing is fetched at run time: the bundle holds Preact and
// uPlot, so the console works with no network but the admin listener.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'console')
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
await build({
  entryPoints: { app: join(root, 'console', 'src', 'main.tsx') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: out,
  // app.css comes out beside app.js: styles as a file, since the CSP refuses inline <style>
  loader: { '.css': 'css' },
  legalComments: 'linked',
  logLevel: 'warning'
})
copyFileSync(join(root, 'console', 'index.html'), join(out, 'index.html'))
copyFileSync(join(root, 'console', 'favicon.svg'), join(out, 'favicon.svg'))
