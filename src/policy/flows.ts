import { THREEPID_STAGE } from '../synapse/register-body.js'

// Registration flows as Synapse announces them in a 401 from /register:
// {"session", "flows": [{"stages": [...]}], "params", "completed"?}

export type Flow = readonly string[]

export function hasThreepidStage (flow: Flow): boolean {
  return flow.some((s) => THREEPID_STAGE.has(s))
}

/** The flows of a 401 body, or null when it does not announce any. */
export function readFlows (body: unknown): Flow[] | null {
  if (body === null || typeof body !== 'object') return null
  const flows = (body as { flows?: unknown }).flows
  if (!Array.isArray(flows)) return null
  return flows.map((f) => Array.isArray((f as { stages?: unknown })?.stages) ? ((f as { stages: unknown[] }).stages.filter((s) => typeof s === 'string') as string[]) : [])
}

export function readCompleted (body: unknown): string[] {
  const c = (body as { completed?: unknown } | null)?.completed
  return Array.isArray(c) ? c.filter((s): s is string => typeof s === 'string') : []
}

/**
 * Keeps only the flows with an email or phone stage, so clients offer what will work.
 * Returns the new body and how many flows are left.
 */
export function keepThreepidFlows (body: Record<string, unknown>): { body: Record<string, unknown>, left: number } {
  const flows = Array.isArray(body.flows) ? body.flows : []
  const kept = flows.filter((f) => Array.isArray((f as { stages?: unknown })?.stages) && hasThreepidStage((f as { stages: string[] }).stages))
  return { body: { ...body, flows: kept }, left: kept.length }
}

/**
 * Would submitting `stage` in a UIA session that has `completed` these stages finish a flow
 * without an email or phone stage? If so, the account would exist without a policed 3PID.
 */
export function completesThreepidFreeFlow (flows: readonly Flow[], completed: readonly string[], stage: string): boolean {
  if (completed.some((s) => THREEPID_STAGE.has(s))) return false
  const done = new Set([...completed, stage])
  return flows.some((f) => !hasThreepidStage(f) && f.every((s) => done.has(s)))
}

// Stages Synapse can also complete through its fallback pages (/auth/<type>/fallback/web), which
// never pass /register: refusing them at /register would stop nothing.
const FALLBACK_STAGES = new Set(['m.login.recaptcha', 'm.login.terms', 'm.login.registration_token'])

/**
 * Is `stage` one only flows without an email or phone stage use (m.login.dummy in Synapse's
 * flows), in a session with no 3PID stage done, and one only /register can complete? Passing it
 * serves no 3PID flow, and once the homeserver has it, the rest of its flow can be completed
 * where regguard does not look (the fallback pages, or a concurrent /register checked against
 * the same old state). Refusing it leaves such a flow impossible to finish.
 */
export function servesOnlyThreepidFreeFlows (flows: readonly Flow[], completed: readonly string[], stage: string): boolean {
  if (FALLBACK_STAGES.has(stage) || completed.some((s) => THREEPID_STAGE.has(s))) return false
  return flows.some((f) => f.includes(stage)) && !flows.some((f) => hasThreepidStage(f) && f.includes(stage))
}
