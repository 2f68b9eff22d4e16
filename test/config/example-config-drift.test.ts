import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { sampleConfig } from '../../src/config/sample.js'

// config/regguard.example.yaml is generated from the schema; it must not drift from it.

const EXAMPLE = fileURLToPath(new URL('../../config/regguard.example.yaml', import.meta.url))

t.test('config/regguard.example.yaml equals sampleConfig() byte for byte', async (t) => {
  const onDisk = readFileSync(EXAMPLE, 'utf8')
  const generated = sampleConfig()
  if (onDisk !== generated) {
    const a = onDisk.split('\n')
    const b = generated.split('\n')
    const i = a.findIndex((l, n) => l !== b[n])
    t.fail(`config/regguard.example.yaml is stale: run \`npm run build && npm run gen:config\` (first difference at line ${(i === -1 ? a.length : i) + 1}: file ${JSON.stringify(a[i])}, schema ${JSON.stringify(b[i])})`)
  } else {
    t.pass('in step with the schema')
  }
})

t.test('the example file loads', async (t) => {
  const cfg = loadConfig({ file: EXAMPLE, env: {} })
  t.equal(cfg.file, EXAMPLE)
  t.equal(cfg.settings.server.port, 8090)
})

t.test('every schema key appears in the sample, documented', async (t) => {
  const { leaves, envName } = await import('../../src/config/schema.js')
  const text = sampleConfig()
  for (const [path, leaf] of leaves()) {
    const key = path.split('.').pop() as string
    t.match(text, new RegExp(`^\\s*(# )?${key}:`, 'm'), `${path} is in the sample`)
    if (leaf.sampleCommented !== true) t.match(text, `# env: ${envName(path)}`, `${path} shows its variable`)
  }
})
