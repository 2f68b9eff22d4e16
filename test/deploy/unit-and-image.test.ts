import { readFileSync } from 'node:fs'
import t from 'tap'

// The systemd unit and the Dockerfile as text: what they promise in the README (a supported
// node on the unit's PATH, no restart loop into a refusal; the admin listener reachable inside
// the container network, a HEALTHCHECK, the homeserver URL set on the run line). No Docker
// engine or systemd runs in CI; these checks are what can be checked without them.

const read = (p: string): string => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8')

t.test('the systemd unit runs a Node.js 22+ wherever the README\'s install put it', async (t) => {
  const unit = read('deploy/systemd/regguard.service')
  const path = /^Environment=PATH=(\S+)$/m.exec(unit)?.[1]?.split(':') ?? []
  t.ok(path.length > 0, 'PATH is set')
  t.ok(path.indexOf('/opt/regguard-node/24/bin') >= 0 && path.indexOf('/opt/regguard-node/24/bin') < path.indexOf('/usr/bin'), 'install-node.sh\'s folder before Debian\'s /usr/bin/node (20)')
  t.ok(path.indexOf('/usr/local/bin') < path.indexOf('/usr/bin'))
  t.match(unit, /^ExecStart=\/usr\/local\/bin\/regguard serve --config \/etc\/regguard\/regguard\.yaml$/m)
  t.match(unit, /^RestartPreventExitStatus=1$/m, 'the Node.js refusal (exit 1) is not restarted')
  t.match(unit, /^StartLimitBurst=\d+$/m)
  t.match(read('README.md'), '/opt/regguard-node/24', 'the README installs node where the unit looks')
  t.match(read('.ci/install-node.sh'), 'root="${REGGUARD_NODE_ROOT:-/opt/regguard-node}"')
})

t.test('the Dockerfile: admin listener on 0.0.0.0 inside, a HEALTHCHECK on /health, the homeserver URL on the run line', async (t) => {
  const docker = read('Dockerfile')
  t.match(docker, /REGGUARD_ADMIN_HOST=0\.0\.0\.0/)
  t.match(docker, /REGGUARD_SERVER_HOST=0\.0\.0\.0/)
  t.match(docker, /^HEALTHCHECK .*\n\s+CMD \[.*http:\/\/127\.0\.0\.1:8091\/health/m)
  const runLine = /docker run[\s\S]*?regguard\n/.exec(docker)?.[0] ?? ''
  t.match(runLine, '-e REGGUARD_HOMESERVER_URL=')
  t.match(runLine, '-e REGGUARD_ADMIN_TOKEN=')
  t.match(runLine, '-p 8090:8090')
  t.notMatch(runLine, '8091:', 'the admin port is not published')
  const readme = read('README.md')
  t.match(readme, '-e REGGUARD_HOMESERVER_URL=', 'the README\'s run line too')
  t.notMatch(/docker run[\s\S]*?regguard\n/.exec(readme)?.[0] ?? '', '8091:')
})

t.test('the HEALTHCHECK command is valid JavaScript that exits 0 on a 200 and 1 when nothing answers', async (t) => {
  const { spawnSync } = await import('node:child_process')
  const { createServer } = await import('node:http')
  const code = JSON.parse(/CMD \["node", "-e", ("[^\n]*")\]\n/.exec(read('Dockerfile'))?.[1] ?? '""') as string
  t.match(code, 'fetch(')
  const down = spawnSync(process.execPath, ['-e', code.replace('127.0.0.1:8091', '127.0.0.1:1')], { timeout: 10_000 })
  t.equal(down.status, 1, 'nothing listening: unhealthy')
  const server = createServer((_q, s) => { s.end('{"status":"ok"}') })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = (server.address() as { port: number }).port
  const { spawn } = await import('node:child_process')
  const up = spawn(process.execPath, ['-e', code.replace('127.0.0.1:8091', `127.0.0.1:${port}`)])
  t.equal(await new Promise((resolve) => up.on('exit', resolve)), 0, 'a 200: healthy')
})
