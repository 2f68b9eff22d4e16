import { createRequire } from 'node:module'

// node:http's constants, loaded with require: an ES `import ... from 'node:http'` builds the
// module's namespace from every export, getters included, and the WebSocket, CloseEvent and
// MessageEvent getters load node's own copy of undici (about 13 MB of RSS, 30 ms at start).
// fastify and undici require node:http, which evaluates none of them.

const http = createRequire(import.meta.url)('node:http') as typeof import('node:http')

export const { METHODS, STATUS_CODES, createServer } = http
