/**
 * Child of impit-worker.test.ts: the worker dies with requests in flight. Run in its own process:
 * a worker killed while impit holds connections can take the process down later (impit 0.14.4),
 * which a test runner must not share. Prints what it saw as its last line, then exits.
 */
import { classifyTransportError } from "../../src/server/grok/classify.js";
import { ImpitWorkerHost } from "../../src/server/grok/impit-worker-host.js";
import { ImpitTransport, impitProfileFor } from "../../src/server/grok/transport.js";

const url = process.argv[2]!;
const host = new ImpitWorkerHost({ highWaterBytes: 64 * 1024, lowWaterBytes: 16 * 1024 });
const t = new ImpitTransport(() => impitProfileFor("Chrome/136.0.0.0"), { host });
const brief = (e: unknown) => (e instanceof Error ? { name: e.name, code: (e as { code?: unknown }).code, kind: classifyTransportError(e).kind } : null);

const res = await t.request(`${url}/big?mb=4&crash`, { method: "GET", headers: {} });
const it = res.body[Symbol.asyncIterator]();
await it.next(); // then the consumer stalls: the worker holds the body back
const pendingReq = t.request(`${url}/no-head?crash`, { method: "GET", headers: {} }).then(() => null, (e: unknown) => e);
await new Promise((r) => setTimeout(r, 300));
const inFlightBefore = host.inFlight;
await host.currentWorker!.terminate();
const readErr = await (async () => {
  for (let r = await it.next(); !r.done; r = await it.next());
})().then(() => null, (e: unknown) => e);
const reqErr = await pendingReq;
const inFlightAfter = host.inFlight;
const again = await t.request(`${url}/echo`, { method: "GET", headers: {} });
await again.text();
console.log(JSON.stringify({ inFlightBefore, read: brief(readErr), request: brief(reqErr), inFlightAfter, next: again.status, workers: host.started }));
await host.close();
process.exit(0);
