import Fastify from 'fastify'
import t from 'tap'
import { lazySchemaCompilers } from '../src/fastify-compilers.js'

// regguard's routes declare no schema; one that did must still be validated as fastify would.

t.test('a body schema is validated (the compiler loaded on demand); a bad body gets 400', async (t) => {
  const app = Fastify({ schemaController: lazySchemaCompilers })
  t.teardown(() => app.close())
  app.post('/x', { schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } }, response: { 200: { type: 'object', properties: { n: { type: 'integer' } } } } } }, async (request) => ({ n: (request.body as { n: number }).n, dropped: true }))
  const bad = await app.inject({ method: 'POST', url: '/x', payload: { n: 'one' } })
  t.equal(bad.statusCode, 400)
  const good = await app.inject({ method: 'POST', url: '/x', payload: { n: 2 } })
  t.equal(good.statusCode, 200)
  t.same(good.json(), { n: 2 }, 'the response schema serialised it (unknown keys dropped)')
})

t.test('a headers schema is refused at start-up, naming the route', async (t) => {
  const app = Fastify({ schemaController: lazySchemaCompilers })
  t.teardown(() => app.close())
  app.get('/h', { schema: { headers: { type: 'object', properties: { 'X-A': { type: 'string' } } } } }, async () => ({}))
  await t.rejects(app.ready(), /\/h.*headers schemas are not supported/)
})
