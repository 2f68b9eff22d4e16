// notify.matrix: a notice as an m.text message in the operators' room, sent with the bot's
// access token. The transaction id is the notice's own, kept across retries: a send the
// homeserver performed but whose answer was lost is not posted twice.

export interface RoomTarget {
  homeserverUrl: string
  roomId: string
  accessToken: string
}

export async function sendRoomMessage (to: RoomTarget, txnId: string, text: string, timeoutMs: number, stop?: AbortSignal): Promise<void> {
  const url = new URL(`/_matrix/client/v3/rooms/${encodeURIComponent(to.roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`, to.homeserverUrl)
  const res = await fetch(url, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${to.accessToken}`, 'Content-Type': 'application/json', 'User-Agent': 'regguard' },
    body: JSON.stringify({ msgtype: 'm.text', body: text }),
    signal: stop === undefined ? AbortSignal.timeout(timeoutMs) : AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]),
    redirect: 'error'
  })
  // never read: the status says enough, and an answer of any size costs nothing
  await res.body?.cancel()
  if (res.status !== 200) throw new Error(`homeserver answered ${res.status} to the room send`)
}
