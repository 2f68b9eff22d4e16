#!/usr/bin/env node
// Room calls a user makes with matrix-js-sdk, every one through BASE_URL (regguard):
//   rooms.mjs login BASE_URL USER PASSWORD            -> RESULT: OK <access_token>
//   rooms.mjs create BASE_URL TOKEN EMAIL...          POST createRoom with invite_3pid
//                                                     -> RESULT: OK <room_id>
//   rooms.mjs create-txn BASE_URL TOKEN TXN EMAIL...  the same as PUT createRoom/TXN
//   rooms.mjs invite BASE_URL TOKEN ROOM_ID EMAIL     POST rooms/{id}/invite with a 3PID
//                                                     -> RESULT: OK {}
//   rooms.mjs third-party-invites BASE_URL TOKEN ROOM_ID
//                                                     -> RESULT: OK <count of m.room.third_party_invite>
// Failures print "RESULT: FAILED <errcode> <error>" and exit 1. 3PID invites name the rig's
// identity-server stand-in (ID_SERVER, default 127.0.0.1:8095), which Synapse calls over https.
import * as sdk from "matrix-js-sdk";
import { logger } from "matrix-js-sdk/lib/logger.js";

try {
    logger.setLevel?.("warn");
} catch {}

const ID_SERVER = process.env.ID_SERVER || "127.0.0.1:8095";
const [mode, baseUrl, ...rest] = process.argv.slice(2);

function client(accessToken) {
    return sdk.createClient({
        baseUrl,
        accessToken,
        // inviteByThreePid names getIdentityServerUrl(true), i.e. this without its scheme
        idBaseUrl: `https://${ID_SERVER}`,
        identityServer: { getAccessToken: async () => "rig-id-access-token" },
    });
}

const invite3pid = (emails) =>
    emails.map((address) => ({ id_server: ID_SERVER, id_access_token: "rig-id-access-token", medium: "email", address }));

async function main() {
    switch (mode) {
        case "login": {
            const [user, password] = rest;
            const r = await client().loginRequest({ type: "m.login.password", identifier: { type: "m.id.user", user }, password });
            return r.access_token;
        }
        case "create": {
            const [token, ...emails] = rest;
            const r = await client(token).createRoom({ preset: "private_chat", invite_3pid: invite3pid(emails) });
            return r.room_id;
        }
        case "create-txn": {
            const [token, txn, ...emails] = rest;
            const r = await client(token).http.authedRequest(sdk.Method.Put, `/createRoom/${encodeURIComponent(txn)}`, undefined, {
                preset: "private_chat",
                invite_3pid: invite3pid(emails),
            });
            return r.room_id;
        }
        case "invite": {
            const [token, roomId, email] = rest;
            return JSON.stringify(await client(token).inviteByThreePid(roomId, "email", email));
        }
        case "third-party-invites": {
            const [token, roomId] = rest;
            const state = await client(token).roomState(roomId);
            return String(state.filter((e) => e.type === "m.room.third_party_invite").length);
        }
        default:
            console.error("usage: rooms.mjs login|create|create-txn|invite|third-party-invites BASE_URL ...");
            process.exit(2);
    }
}

try {
    const out = await main();
    console.log(`RESULT: OK ${out}`);
    process.exit(0);
} catch (e) {
    const errcode = e?.errcode || e?.data?.errcode || (e?.httpStatus ? `HTTP_${e.httpStatus}` : "ERROR");
    console.log(`RESULT: FAILED ${errcode} ${e?.data?.error || e?.message || String(e)}`);
    process.exit(1);
}
