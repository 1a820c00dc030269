/**
 * impit in a worker thread (impit-worker-host.ts / impit-worker.ts), the default way ImpitTransport
 * runs: the transport contract in both modes (worker and GROK2API_IMPIT_WORKER=0), then what only
 * the worker does — batching, abort and cancel reaching the worker, credit backpressure, errors
 * keeping their name/message/code, a dead worker failing what was in flight, and an idle worker not
 * keeping the process alive (nor impit loaded on the main thread).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyTransportError } from "../../src/server/grok/classify.js";
import { ImpitWorkerHost } from "../../src/server/grok/impit-worker-host.js";
import { ImpitTransport, impitProfileFor } from "../../src/server/grok/transport.js";
import { transportContract } from "./transport-contract.js";

const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36";
const profile = () => impitProfileFor(UA);

transportContract("impit on the main thread (GROK2API_IMPIT_WORKER=0)", async () => ({ transport: new ImpitTransport(profile, { worker: false }) }), {
  abortKeepsConnection: "impit 0.14.4 drops a connection aborted during a pending read only when its native response is garbage-collected",
});
transportContract("impit in a worker (own host; the worker also releases an aborted connection)", async () => {
  const host = new ImpitWorkerHost();
  return { transport: new ImpitTransport(profile, { host }), dispose: () => host.close() };
});

// ---------------------------------------------------------------------------- worker specifics

interface TestServer {
  url: string;
  /** Paths whose response closed before it ended. */
  closedEarly: string[];
  /** Bytes written so far per path. */
  written: Map<string, number>;
  close(): Promise<void>;
}

async function startServer(): Promise<TestServer> {
  const closedEarly: string[] = [];
  const written = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? "/", "http://x");
    const key = u.pathname + u.search;
    res.on("close", () => !res.writableFinished && closedEarly.push(key));
    const write = (b: Buffer | string) => {
      written.set(key, (written.get(key) ?? 0) + Buffer.byteLength(b));
      return res.write(b);
    };
    switch (u.pathname) {
      case "/echo": {
        const parts: Buffer[] = [];
        for await (const c of req) parts.push(c as Buffer);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(parts).toString("latin1") }));
        return;
      }
      case "/lines": {
        // many small writes, each its own chunk upstream
        const n = Number(u.searchParams.get("n") ?? 2000);
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        for (let i = 0; i < n; i++) {
          if (!write(`{"i":${i}}\n`)) await once(res, "drain");
          if (i % 50 === 0) await new Promise((r) => setImmediate(r));
        }
        res.end();
        return;
      }
      case "/big": {
        // written as fast as the proxy reads it (honouring 'drain')
        const total = Number(u.searchParams.get("mb") ?? 8) * 1024 * 1024;
        res.writeHead(200, { "content-type": "application/octet-stream" });
        const chunk = Buffer.alloc(16 * 1024, 7);
        for (let sent = 0; sent < total && !res.destroyed; sent += chunk.length) if (!write(chunk)) await Promise.race([once(res, "drain"), once(res, "close")]);
        res.end();
        return;
      }
      case "/hold":
        res.writeHead(200, { "content-type": "text/plain" });
        write("x".repeat(1024));
        return; // never ends
      case "/reset":
        res.writeHead(200, { "content-type": "text/plain" });
        write("first part\n");
        setTimeout(() => res.socket?.destroy(), 30);
        return;
      case "/no-head":
        return; // never answers
      default:
        res.writeHead(404);
        res.end();
    }
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    closedEarly,
    written,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child script of this folder run with tsx against the test server; its exit code and output. */
let childUrl = "";
async function runChild(name: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, name), childUrl], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (err += d));
  const guard = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
  clearTimeout(guard);
  return { code, out, err: `${err}${signal ? `\n(signal ${signal})` : ""}` };
}

describe("impit worker", () => {
  let srv: TestServer;
  let host: ImpitWorkerHost;
  let t: ImpitTransport;
  beforeAll(async () => {
    srv = await startServer();
    childUrl = srv.url;
    host = new ImpitWorkerHost();
    t = new ImpitTransport(profile, { host });
  });
  afterAll(async () => {
    await host.close();
    await srv.close();
  });

  it("runs in the worker by default; GROK2API_IMPIT_WORKER=0 keeps it on the main thread", () => {
    const saved = process.env.GROK2API_IMPIT_WORKER;
    try {
      delete process.env.GROK2API_IMPIT_WORKER;
      expect(new ImpitTransport(profile).mode).toBe("worker");
      process.env.GROK2API_IMPIT_WORKER = "0";
      expect(new ImpitTransport(profile).mode).toBe("main-thread");
    } finally {
      if (saved === undefined) delete process.env.GROK2API_IMPIT_WORKER;
      else process.env.GROK2API_IMPIT_WORKER = saved;
    }
  });

  it("joins many small upstream chunks into few messages, every byte in order", async () => {
    const res = await t.request(`${srv.url}/lines?n=2000`, { method: "GET", headers: {} });
    let reads = 0;
    const parts: Buffer[] = [];
    for await (const c of res.body) {
      reads++;
      parts.push(Buffer.from(c));
    }
    const lines = Buffer.concat(parts).toString().trimEnd().split("\n");
    expect(lines).toHaveLength(2000);
    expect(lines.every((l, i) => l === `{"i":${i}}`)).toBe(true);
    expect(reads).toBeLessThan(1000);
    expect(host.inFlight).toBe(0);
  });

  it("the abort signal mid-body ends the read with the abort reason and releases the connection", async () => {
    const ac = new AbortController();
    const res = await t.request(`${srv.url}/hold?abort`, { method: "GET", headers: {}, signal: ac.signal });
    const it = res.body[Symbol.asyncIterator]();
    expect((await it.next()).value?.byteLength).toBe(1024);
    const pending = it.next();
    await sleep(20);
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    expect(host.inFlight).toBe(0);
    expect(await until(() => srv.closedEarly.includes("/hold?abort"))).toBe(true);
  });

  it("an abort while the request is pending rejects at once", async () => {
    const ac = new AbortController();
    const req = t.request(`${srv.url}/no-head?a`, { method: "GET", headers: {}, signal: ac.signal });
    await sleep(50);
    const t0 = performance.now();
    ac.abort(new Error("client went away"));
    await expect(req).rejects.toThrow("client went away");
    expect(performance.now() - t0).toBeLessThan(50);
    expect(host.inFlight).toBe(0);
    // (impit 0.14.4 keeps an aborted request's connection until the server answers, on the main thread too)
  });

  it("cancel() before reading releases the connection; the body is then empty", async () => {
    const res = await t.request(`${srv.url}/hold?cancel`, { method: "GET", headers: {} });
    res.cancel();
    expect(host.inFlight).toBe(0);
    expect(await until(() => srv.closedEarly.includes("/hold?cancel"))).toBe(true);
    const chunks: Uint8Array[] = [];
    for await (const c of res.body) chunks.push(c);
    expect(chunks).toEqual([]);
  });

  it("leaving the loop early cancels the body in the worker", async () => {
    const res = await t.request(`${srv.url}/hold?break`, { method: "GET", headers: {} });
    for await (const c of res.body) {
      expect(c.byteLength).toBe(1024);
      break;
    }
    expect(host.inFlight).toBe(0);
    expect(await until(() => srv.closedEarly.includes("/hold?break"))).toBe(true);
  });

  it("backpressure: a consumer that stops reading stops the worker near the high-water mark; reading on resumes it", async () => {
    const small = new ImpitWorkerHost({ highWaterBytes: 128 * 1024, lowWaterBytes: 32 * 1024 });
    try {
      const st = new ImpitTransport(profile, { host: small });
      const res = await st.request(`${srv.url}/big?mb=16`, { method: "GET", headers: {} });
      const it = res.body[Symbol.asyncIterator]();
      let got = (await it.next()).value!.byteLength;
      await sleep(500);
      // what reached the main side and waits there: at most the mark plus one read and one batch
      expect(small.queuedBytes).toBeLessThanOrEqual(128 * 1024 + 2 * 64 * 1024);
      // the upstream is held back too: far less than 16 MiB was written (socket buffers aside)
      const stalled = srv.written.get("/big?mb=16") ?? 0;
      await sleep(300);
      expect(srv.written.get("/big?mb=16")).toBe(stalled);
      expect(stalled).toBeLessThan(12 * 1024 * 1024);
      for (let r = await it.next(); !r.done; r = await it.next()) got += r.value.byteLength;
      expect(got).toBe(16 * 1024 * 1024);
      expect(small.inFlight).toBe(0);
    } finally {
      await small.close();
    }
  });

  it("a refused connection rejects with impit's own error name and message, classified as a network failure", async () => {
    const dead = createServer();
    dead.listen(0, "127.0.0.1");
    await once(dead, "listening");
    const { port } = dead.address() as AddressInfo;
    await new Promise<void>((r) => dead.close(() => r()));
    const url = `http://127.0.0.1:${port}/echo`;
    const viaWorker = await t.request(url, { method: "GET", headers: {} }).then(() => null, (e: Error) => e);
    const inline = await new ImpitTransport(profile, { worker: false }).request(url, { method: "GET", headers: {} }).then(() => null, (e: Error) => e);
    expect(viaWorker).toBeInstanceOf(Error);
    expect(inline).toBeInstanceOf(Error);
    expect({ name: viaWorker!.name, message: viaWorker!.message, code: (viaWorker as { code?: unknown }).code }).toEqual({ name: inline!.name, message: inline!.message, code: (inline as { code?: unknown }).code });
    expect(viaWorker!.name).toBe("ConnectError");
    const f = classifyTransportError(viaWorker);
    expect(f.kind).toBe("network");
    expect(f.message).toContain(inline!.message);
  });

  it("a body cut off upstream: what arrived is read first, then the same error as on the main thread", async () => {
    const readAll = async (tr: ImpitTransport, q: string) => {
      const res = await tr.request(`${srv.url}/reset?${q}`, { method: "GET", headers: {} });
      let text = "";
      try {
        for await (const c of res.body) text += Buffer.from(c).toString();
        return { text, error: null };
      } catch (e) {
        return { text, error: { name: (e as Error).name, message: (e as Error).message, kind: classifyTransportError(e).kind } };
      }
    };
    const viaWorker = await readAll(t, "w");
    const inline = await readAll(new ImpitTransport(profile, { worker: false }), "m");
    expect(viaWorker.text).toBe("first part\n");
    expect(viaWorker).toEqual(inline);
    expect(viaWorker.error?.kind).toBe("network");
  });

  it("a dead worker fails what was in flight as network errors; the next request starts a new worker", async () => {
    // in its own process (impit-worker-crash-child.ts): a request without an answer yet, and a body
    // the worker holds back; the worker is terminated under them
    const { code, out, err } = await runChild("impit-worker-crash-child.ts");
    const seen = JSON.parse(out.trim().split("\n").at(-1) ?? "null");
    expect(seen, err).toEqual({
      inFlightBefore: 2,
      read: { name: "NetworkError", code: "ERR_IMPIT_WORKER_EXITED", kind: "network" },
      request: { name: "NetworkError", code: "ERR_IMPIT_WORKER_EXITED", kind: "network" },
      inFlightAfter: 0,
      next: 200,
      workers: 2,
    });
    expect(code, err).toBe(0);
  });

  it("close() fails the bodies being read and releases their connections; the idle worker serves a later request", async () => {
    const own = new ImpitWorkerHost();
    const st = new ImpitTransport(profile, { host: own });
    const res = await st.request(`${srv.url}/hold?close`, { method: "GET", headers: {} });
    const it = res.body[Symbol.asyncIterator]();
    await it.next();
    const reading = it.next().then(() => null, (e: unknown) => e);
    await sleep(20);
    await own.close();
    expect(await reading).toMatchObject({ name: "NetworkError" });
    expect(await until(() => srv.closedEarly.includes("/hold?close"))).toBe(true);
    const again = await st.request(`${srv.url}/echo`, { method: "GET", headers: {} });
    await again.text();
    expect(own.started).toBe(1);
    expect(own.inFlight).toBe(0);
    await own.close();
  });

  it("FormData is encoded on the main side (one content-type, the caller's replaced); the caller's bytes are copied, not taken", async () => {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array([1, 2, 3])], { type: "image/png" }), "a.png");
    form.append("name", "ü");
    const f = JSON.parse(await (await t.request(`${srv.url}/echo`, { method: "POST", headers: { "Content-Type": "text/plain" }, body: form })).text()) as { headers: Record<string, string>; rawHeaders: string[]; body: string };
    expect(f.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
    expect(f.rawHeaders.filter((h) => h.toLowerCase() === "content-type")).toHaveLength(1);
    expect(f.body).toContain('filename="a.png"');
    expect(Buffer.from(f.body, "latin1").toString("utf8")).toContain("ü");
    const bytes = new Uint8Array([9, 8, 7]);
    const b = JSON.parse(await (await t.request(`${srv.url}/echo`, { method: "POST", headers: {}, body: bytes })).text()) as { body: string };
    expect([...Buffer.from(b.body, "latin1")]).toEqual([9, 8, 7]);
    expect(bytes.byteLength).toBe(3); // not detached
  });

  it("an idle worker does not keep the process alive, and the main thread never loads impit", async () => {
    const { code, out, err } = await runChild("impit-worker-idle-child.ts");
    expect(code, err).toBe(0);
    expect(JSON.parse(out.trim().split("\n").at(-1)!)).toEqual({ status: 200, mode: "worker", impitOnMain: false, exitedByItself: true });
  });
});
