import { canonicalEmail, canonicalMsisdnNumber, type Canonical, type Medium } from '../synapse/canonical.js'
import { parseJsonObject } from '../synapse/token-request.js'

// What a room invite or createRoom request tells us about pending 3PID invites. Pure: the
// route hands in the bytes it forwarded and what the homeserver answered.

export interface LearnedInvite {
  medium: Medium
  address: string
  room_id: string | null
}

/** An address as regguard keeps it; null when it is not a usable email or phone number. */
export function canonicalInviteAddress (medium: unknown, address: unknown): { medium: Medium, address: string } | null {
  if (medium !== 'email' && medium !== 'msisdn') return null
  const c: Canonical = medium === 'email' ? canonicalEmail(address) : canonicalMsisdnNumber(address)
  return c.ok ? { medium, address: c.address } : null
}

function one (entry: unknown, roomId: string | null): LearnedInvite | null {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return null
  const { medium, address } = entry as Record<string, unknown>
  if (typeof medium !== 'string' || typeof address !== 'string') return null
  const c = canonicalInviteAddress(medium, address)
  return c === null ? null : { ...c, room_id: roomId }
}

/** The room id as stored: percent-decoded when that is possible, else as it came. */
export function decodeRoomId (raw: string): string {
  try { return decodeURIComponent(raw) } catch { return raw }
}

/** POST .../rooms/{roomId}/invite answered 200: the 3PID it invited, if it was a 3PID invite. */
export function learnFromRoomInvite (body: Uint8Array, rawRoomId: string): LearnedInvite[] {
  const parsed = parseJsonObject(body)
  if (!parsed.ok) return []
  const invite = one(parsed.value, decodeRoomId(rawRoomId))
  return invite === null ? [] : [invite]
}

/** POST .../createRoom answered 200: each usable entry of invite_3pid, in the new room. */
export function learnFromCreateRoom (body: Uint8Array, answer: Uint8Array | null): LearnedInvite[] {
  const parsed = parseJsonObject(body)
  if (!parsed.ok) return []
  const list = parsed.value.invite_3pid
  if (!Array.isArray(list) || list.length === 0) return []
  let roomId: string | null = null
  if (answer !== null) {
    const a = parseJsonObject(answer)
    if (a.ok && typeof a.value.room_id === 'string') roomId = a.value.room_id
  }
  return list.map((e) => one(e, roomId)).filter((x): x is LearnedInvite => x !== null)
}
