#!/usr/bin/env node
// usage: node dummy_register.mjs USERNAME BASE_URL
// Tries to register USERNAME with matrix-js-sdk through BASE_URL using m.login.dummy alone, as
// a client does on a homeserver without 3PID requirements: POST /register for the flows and a
// session, then /register with {type: m.login.dummy}. Prints "FLOWS: <json>" (what the first
// 401 offered), then "RESULT: OK <user_id>" (exit 0) or "RESULT: FAILED <errcode> <error>" (exit 1).
import * as sdk from "matrix-js-sdk";
import { logger } from "matrix-js-sdk/lib/logger.js";

try {
    logger.setLevel?.("warn");
} catch {}

const [username, baseUrl] = process.argv.slice(2);
if (!username || !baseUrl) {
    console.error("usage: node dummy_register.mjs USERNAME BASE_URL");
    process.exit(2);
}
const password = process.env.PASSWORD || `rig-Passw0rd-${username}`;
const client = sdk.createClient({ baseUrl });

try {
    let session;
    try {
        const r = await client.registerRequest({ username, password });
        console.log(`RESULT: OK ${r.user_id}`);
        process.exit(0);
    } catch (e) {
        if (e?.httpStatus !== 401 || !e?.data?.flows) throw e;
        console.log(`FLOWS: ${JSON.stringify(e.data.flows)}`);
        session = e.data.session;
    }
    const r = await client.registerRequest({ username, password, auth: { type: "m.login.dummy", session } });
    console.log(`RESULT: OK ${r.user_id}`);
    process.exit(0);
} catch (e) {
    const errcode = e?.errcode || e?.data?.errcode || (e?.httpStatus ? `HTTP_${e.httpStatus}` : "ERROR");
    console.log(`RESULT: FAILED ${errcode} ${e?.data?.error || e?.message || String(e)}`);
    process.exit(1);
}
