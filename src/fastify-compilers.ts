import { createRequire } from 'node:module'
import type { FastifyServerOptions } from 'fastify'

// fastify's schema compilers (ajv with its formats, fast-json-stringify), required by the first
// route that declares a schema instead of by every fastify instance: regguard's routes declare
// none, and the two instances loading them cost about 4 MB of RSS and 40 ms at start-up.
// Given as a factory, fastify counts the compiler as custom, which changes one thing: a headers
// schema would reach ajv without fastify lower-casing its keys first. So a headers schema is
// refused when its route is added (fastify then fails to start, naming the route) rather than
// validated differently.

type Factory = (externalSchemas: unknown, options: unknown) => (route: { httpPart?: string }) => unknown

const require = createRequire(import.meta.url)
let validators: Factory | undefined
let serializers: Factory | undefined

function buildValidator (externalSchemas: unknown, options: unknown): (route: { httpPart?: string }) => unknown {
  validators ??= (require('@fastify/ajv-compiler') as () => Factory)()
  const compile = validators(externalSchemas, options)
  return (route) => {
    if (route.httpPart === 'headers') throw new Error('headers schemas are not supported (src/fastify-compilers.ts)')
    return compile(route)
  }
}

function buildSerializer (externalSchemas: unknown, options: unknown): (route: { httpPart?: string }) => unknown {
  serializers ??= (require('@fastify/fast-json-stringify-compiler') as () => Factory)()
  return serializers(externalSchemas, options)
}

/** fastify's schemaController option */
export const lazySchemaCompilers = { compilersFactory: { buildValidator, buildSerializer } } as unknown as NonNullable<FastifyServerOptions['schemaController']>
