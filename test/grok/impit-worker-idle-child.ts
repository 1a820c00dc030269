/**
 * Child of impit-worker.test.ts: one request through the worker transport, then nothing — the
 * process must exit by itself (the idle worker is unref'd). Prints what it saw as its last line.
 */
import { createRequire } from "node:module";
import { ImpitTransport, impitProfileFor } from "../../src/server/grok/transport.js";

const t = new ImpitTransport(() => impitProfileFor("Chrome/136.0.0.0"));
const res = await t.request(`${process.argv[2]}/echo`, { method: "GET", headers: {} });
await res.text();
const impitOnMain = Object.keys(createRequire(import.meta.url).cache).some((k) => /[\\/]node_modules[\\/]impit[\\/]/.test(k));
process.on("exit", () => console.log(JSON.stringify({ status: res.status, mode: t.mode, impitOnMain, exitedByItself: true })));
