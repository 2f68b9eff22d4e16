import { createRequire } from 'node:module'
import type * as PromClient from 'prom-client'

// prom-client's parts, required from their own files: its index also loads the Pushgateway,
// which requires node:https (and with it node:tls, about 3 MB of RSS in a plain-HTTP
// deployment: src/deferred-requires.ts), and the Summary, neither of which regguard uses. The
// classes are the index's own (the same files, so the same module instances).

const require = createRequire(import.meta.url)

export const Registry = require('prom-client/lib/registry.js') as typeof PromClient.Registry
export type Registry = PromClient.Registry
export const Counter = require('prom-client/lib/counter.js') as typeof PromClient.Counter
export type Counter<L extends string = string> = PromClient.Counter<L>
export const Gauge = require('prom-client/lib/gauge.js') as typeof PromClient.Gauge
export type Gauge<L extends string = string> = PromClient.Gauge<L>
export const Histogram = require('prom-client/lib/histogram.js') as typeof PromClient.Histogram
export type Histogram<L extends string = string> = PromClient.Histogram<L>
export const collectDefaultMetrics = require('prom-client/lib/defaultMetrics.js') as typeof PromClient.collectDefaultMetrics
/** The cluster primary's (it sums the workers' metrics), loaded there only */
export const aggregatorRegistry = (): typeof PromClient.AggregatorRegistry => require('prom-client/lib/cluster.js') as typeof PromClient.AggregatorRegistry
