// Writes docs/console/*.png (sign-in, overview, decisions, invites, tester, lists): runs the
// console's browser test (test/console/console.test.ts) with REGGUARD_CONSOLE_SCREENSHOTS=1, so
// the pictures show exactly what that test checked. Needs /usr/bin/chromium (.ci/install-chromium.sh).
import { spawnSync } from 'node:child_process'

const r = spawnSync('npx', ['tap', 'run', '--disable-coverage', '--timeout=180', 'test/console/console.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, REGGUARD_CONSOLE_SCREENSHOTS: '1' }
})
process.exit(r.status ?? 1)
