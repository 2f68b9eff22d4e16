import type { FastifyInstance } from 'fastify'

export function healthRoutes (admin: FastifyInstance): void {
  admin.get('/health', async () => ({ status: 'ok' }))
}
