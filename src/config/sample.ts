import YAML from 'yaml'
import { envName, isLeaf, SCHEMA, type Branch, type Leaf } from './schema.js'

// config/regguard.example.yaml is this function's output; a test fails when the two differ.

function scalar (v: unknown): string {
  // lists in flow style, which YAML reads as JSON does
  if (Array.isArray(v)) return JSON.stringify(v)
  // one line whatever its length: a folded scalar's continuation would need this key's indent
  return YAML.stringify(v, { lineWidth: 0 }).trimEnd()
}

function leafLines (key: string, path: string, leaf: Leaf, indent: string): string[] {
  const out = leaf.doc.match(/.{1,92}(\s|$)/g)?.map((l) => `${indent}# ${l.trim()}`) ?? []
  const isList = String(leaf.format).includes('list')
  if (!leaf.sampleCommented) out.push(`${indent}# env: ${envName(path)}${isList ? ' (comma-separated)' : ''}`)
  const value = leaf.sampleValue !== undefined ? leaf.sampleValue : leaf.default
  const line = `${key}: ${scalar(value)}`
  out.push(leaf.sampleCommented ? `${indent}# ${line}` : `${indent}${line}`)
  return out
}

function branchLines (node: Branch, prefix: string, indent: string, commented: boolean): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(node)) {
    const path = prefix === '' ? k : `${prefix}.${k}`
    if (isLeaf(v)) {
      out.push(...leafLines(k, path, v, indent))
    } else {
      const allCommented = commented || Object.values(flatten(v)).every((l) => l.sampleCommented === true)
      out.push(allCommented ? `${indent}# ${k}:` : `${indent}${k}:`)
      out.push(...branchLines(v, path, indent + '  ', allCommented))
    }
  }
  return out
}

function flatten (node: Branch): Leaf[] {
  return Object.values(node).flatMap((v) => isLeaf(v) ? [v] : flatten(v))
}

export function sampleConfig (): string {
  const head = [
    '# regguard configuration: every key, its meaning, its environment variable and its default.',
    '# Generated from src/config/schema.ts by `regguard config sample`; do not edit by hand.',
    '# Keys shown commented out are aliases in the layout of ma1sd\'s documentation (register.allowed,',
    '# register.invite, register.threepid.*): paste an ma1sd `register` block in either layout.',
    '# A short starting point instead of this: config/regguard.minimal.yaml. The same keys as a table:',
    '# docs/configuration.md.',
    ''
  ]
  return head.join('\n') + branchLines(SCHEMA, '', '', false).join('\n') + '\n'
}
