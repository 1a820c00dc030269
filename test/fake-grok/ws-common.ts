/** Shared WebSocket plumbing: upgrade validation, handshake-level failures, fragmented sends. */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import type { Core } from "./core.js";
import type { AccountRecord } from "./state.js";
import type { RecordedRequest, Scenario } from "./types.js";
import type { HttpFailure } from "./errors.js";
import { writeFailureToSocket } from "./errors.js";
import { scenarioFailure } from "./rest-chat.js";
import { HTTP_FAILURE_SCENARIOS } from "./scenarios.js";
import { authenticate, checkCloudflare, checkOrigin, checkStrictUserAgent, checkUserAgentPresent } from "./validate.js";
import { debug, flatHeaders, parseCookies, queryOf } from "./util.js";

export interface Upgrade {
  rec: RecordedRequest;
  account: AccountRecord;
  headers: Record<string, string>;
  cookies: Record<string, string>;
  url: URL;
}

export function recordUpgrade(core: Core, req: IncomingMessage, url: URL): RecordedRequest {
  const headers = flatHeaders(req.headers);
  return core.state.record({
    transport: "ws",
    method: req.method ?? "GET",
    path: url.pathname,
    query: queryOf(url),
    headers,
    cookies: parseCookies(headers["cookie"]),
    server: "grok",
    wsMessages: [],
    wsSent: [],
  });
}

export function rejectUpgrade(socket: Duplex, rec: RecordedRequest, f: HttpFailure, reason: string): void {
  rec.rejected = { status: f.status, reason };
  debug(`reject WS ${rec.path} → ${f.status}: ${reason}`);
  writeFailureToSocket(socket, f);
}

/** Common handshake checks; answers the socket itself and returns undefined on rejection. */
export function validateUpgrade(core: Core, socket: Duplex, url: URL, rec: RecordedRequest): Upgrade | undefined {
  const view = { headers: rec.headers, cookies: rec.cookies };
  const pre = checkCloudflare(core, view) ?? checkUserAgentPresent(view) ?? checkOrigin(core, view, true);
  if (pre) return void rejectUpgrade(socket, rec, pre.failure, pre.reason);
  const auth = authenticate(core, view);
  if ("failure" in auth) {
    if (auth.account) rec.account = auth.account.sso;
    return void rejectUpgrade(socket, rec, auth.failure, auth.reason);
  }
  rec.account = auth.account.sso;
  const ua = checkStrictUserAgent(core, view, auth.account);
  if (ua) return void rejectUpgrade(socket, rec, ua.failure, ua.reason);
  return { rec, account: auth.account, headers: rec.headers, cookies: rec.cookies, url };
}

/** Takes a queued HTTP-failure scenario at handshake time and answers the upgrade with it. */
export function handshakeScenario(core: Core, socket: Duplex, up: Upgrade): boolean {
  const head = core.state.scenarios.peek(up.account.sso);
  if (!head || !HTTP_FAILURE_SCENARIOS.has(head.name)) return false;
  const sc: Scenario = core.state.scenarios.take(up.account.sso)!;
  up.rec.scenario = sc.name;
  up.rec.scenarios = [sc.name];
  writeFailureToSocket(socket, scenarioFailure(sc)!);
  return true;
}

/** Cut points for fragmenting one message: about every quarter, moved onto a UTF-8 continuation byte. */
export function fragmentCuts(buf: Buffer): number[] {
  const cuts = new Set<number>();
  for (const q of [0.25, 0.5, 0.75]) {
    let p = Math.max(1, Math.floor(buf.length * q));
    for (let k = 0; k < 8 && p + k < buf.length; k++) {
      if ((buf[p + k]! & 0xc0) === 0x80) {
        p += k;
        break;
      }
    }
    if (p > 0 && p < buf.length) cuts.add(p);
  }
  return [...cuts].sort((a, b) => a - b);
}

/** Sends one text message, optionally as a text frame plus continuation frames. */
export function sendText(ws: WebSocket, text: string, fragment: boolean): void {
  if (ws.readyState !== ws.OPEN) return;
  if (!fragment) return ws.send(text);
  const buf = Buffer.from(text, "utf8");
  const cuts = [...fragmentCuts(buf), buf.length];
  let last = 0;
  cuts.forEach((cut, i) => {
    ws.send(buf.subarray(last, cut), { binary: false, fin: i === cuts.length - 1, compress: false });
    last = cut;
  });
}
