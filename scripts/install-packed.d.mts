// Types of scripts/install-packed.mjs, for the TypeScript tests that import it.
export const ROOT: string
export function installedMarker (prefix: string): string
export function commandIn (prefix: string): string
export function packAndInstall (prefix: string, opts?: { root?: string }): string
