import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { basename, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { AppContext } from '../context.js'
import { fail } from './scope.js'

// The operator console (console/src, built into dist/console by `npm run build`), served on the
// admin listener at /_regguard/admin/. The pages carry no secret and need no token; every API
// call they make sends the admin token as a bearer header, which no other site can make a
// browser send (no cookie is involved). Nothing is loaded from anywhere else: the CSP says so.

export const CONSOLE_PATH = '/_regguard/admin/'

export const CONSOLE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

const TYPES = new Map([
  ['.html', 'text/html; charset=utf-8'],
  ['.js', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
  ['.svg', 'image/svg+xml'],
  ['.png', 'image/png'],
  ['.ico', 'image/x-icon']
])

/** dist/console beside the running code: dist/src/routes (built) or src/routes (tsx). */
export function consoleDir (): string {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  return basename(root) === 'dist' ? join(root, 'console') : join(root, 'dist', 'console')
}

interface Asset { type: string, body: Buffer }

/** The built files, read once: names come from the directory, never from a request. */
function loadAssets (dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  if (!existsSync(dir)) return assets
  for (const name of readdirSync(dir)) {
    const type = TYPES.get(extname(name))
    if (type !== undefined) assets.set(name, { type, body: readFileSync(join(dir, name)) })
  }
  return assets
}

function send (reply: FastifyReply, asset: Asset): FastifyReply {
  return reply
    .header('Content-Security-Policy', CONSOLE_CSP)
    .header('X-Content-Type-Options', 'nosniff')
    .header('X-Frame-Options', 'DENY')
    .header('Referrer-Policy', 'no-referrer')
    .header('Cross-Origin-Opener-Policy', 'same-origin')
    .header('Cross-Origin-Resource-Policy', 'same-origin')
    .header('Cache-Control', 'no-cache')
    .type(asset.type)
    .send(asset.body)
}

export function consoleRoutes (admin: FastifyInstance, _ctx: AppContext, dir = consoleDir()): void {
  const assets = loadAssets(dir)
  const notBuilt = `The console is not built: run "npm run build" (it writes ${dir})`
  admin.get('/_regguard/admin', async (_request, reply) => reply.redirect(CONSOLE_PATH, 308))
  admin.get(CONSOLE_PATH, async (_request, reply) => {
    const index = assets.get('index.html')
    return index === undefined ? fail(reply, 'NOT_FOUND', notBuilt) : send(reply, index)
  })
  admin.get(`${CONSOLE_PATH}:file`, async (request, reply) => {
    const { file } = request.params as { file: string }
    const asset = assets.get(file)
    if (asset === undefined) return fail(reply, 'NOT_FOUND', assets.size === 0 ? notBuilt : undefined)
    return send(reply, asset)
  })
}
