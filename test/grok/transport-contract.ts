/**
 * The upstream transport contract: what every HttpTransport (impit, fetch, the desktop app's
 * Chromium one) and every GatewaySocketFactory (`ws`, the desktop app's hidden-page relay) must
 * do, run against a local HTTP / WebSocket server. transport-contract.test.ts runs it for each.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import type { GatewaySocketFactory, GatewaySocketHandlers } from "../../src/server/grok/gateway-socket.js";
import type { HttpTransport } from "../../src/server/grok/transport.js";

export interface ContractServer {
  url: string;
  /** Requests the server saw close before their response ended (cancel / abort reached it). */
  closedEarly: string[];
  release(id: string): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function startContractServer(): Promise<ContractServer> {
  const closedEarly: string[] = [];
  const waiting = new Map<string, () => void>();
  const sockets = new Set<Socket>();
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? "/", "http://x");
    const track = () => res.on("close", () => !res.writableFinished && closedEarly.push(u.pathname + u.search));
    switch (u.pathname) {
      case "/echo": {
        const body = await readBody(req);
        res.writeHead(200, { "content-type": "application/json", "x-served-by": "contract" });
        res.end(JSON.stringify({ method: req.method, headers: req.headers, body: body.toString("latin1") }));
        return;
      }
      case "/status": {
        res.writeHead(Number(u.searchParams.get("code") ?? 500), { "content-type": "text/plain", "x-custom": "yes" });
        res.end("teapot says no");
        return;
      }
      case "/redirect":
        res.writeHead(302, { location: "/echo" });
        res.end();
        return;
      case "/gzip":
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
        res.end(zlib.gzipSync(JSON.stringify({ encoded: "gzip", text: "ünïcödé".repeat(50) })));
        return;
      case "/br":
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "br" });
        res.end(zlib.brotliCompressSync(JSON.stringify({ encoded: "br" })));
        return;
      case "/stream": {
        // the first part now, the rest only once the test has seen the first part arrive
        track();
        const id = u.searchParams.get("id") ?? "";
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.write('{"part":1}\n');
        waiting.set(id, () => {
          res.write('{"part":2}\n');
          res.end('{"part":3}\n');
        });
        return;
      }
      case "/hold":
        track();
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("x".repeat(1024));
        return; // never ends
      case "/big": {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        const chunk = Buffer.alloc(64 * 1024, 7);
        for (let i = 0; i < 16; i++) res.write(chunk);
        res.end();
        return;
      }
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
    release: (id) => waiting.get(id)?.(),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function collectText(body: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString("utf8");
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
};

export interface TransportLimits {
  /**
   * Why an abort during a pending read may leave the connection open (the body still ends).
   * impit 0.14.4: its native response drops the connection only when it is garbage-collected
   * (about half the runs here), so that check is reported skipped with this reason.
   */
  abortKeepsConnection?: string;
}

/** The HTTP transport contract, for a transport made by `make` (called once per suite). */
export function transportContract(name: string, make: () => Promise<{ transport: HttpTransport; dispose?: () => Promise<void> | void }>, limits: TransportLimits = {}): void {
  const slug = name.replace(/\W+/g, "-"); // a query value that needs no escaping
  describe(`transport contract: ${name}`, () => {
    let srv: ContractServer;
    let t: HttpTransport;
    let dispose: (() => Promise<void> | void) | undefined;
    beforeAll(async () => {
      srv = await startContractServer();
      const made = await make();
      t = made.transport;
      dispose = made.dispose;
    });
    afterAll(async () => {
      await dispose?.();
      await srv.close();
    });

    it("GET: status, headers and text; the request headers arrive as given", async () => {
      const res = await t.request(`${srv.url}/echo`, { method: "GET", headers: { "user-agent": "Contract/1.0", "x-test": "a b", cookie: "sso=abc; sso-rw=abc" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-served-by")).toBe("contract");
      const seen = JSON.parse(await res.text()) as { method: string; headers: Record<string, string> };
      expect(seen.method).toBe("GET");
      expect(seen.headers["user-agent"]).toBe("Contract/1.0");
      expect(seen.headers["x-test"]).toBe("a b");
      expect(seen.headers.cookie).toBe("sso=abc; sso-rw=abc");
    });

    it("POST bodies: a string, bytes, and FormData as multipart with its boundary", async () => {
      const s = JSON.parse(await (await t.request(`${srv.url}/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"q":"ü"}' })).text());
      expect([s.method, s.headers["content-type"], Buffer.from(s.body, "latin1").toString("utf8")]).toEqual(["POST", "application/json", '{"q":"ü"}']);
      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      const b = JSON.parse(await (await t.request(`${srv.url}/echo`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: bytes })).text());
      expect([...Buffer.from(b.body, "latin1")]).toEqual([...bytes]);
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array([1, 2, 3])], { type: "image/png" }), "a.png");
      const f = JSON.parse(await (await t.request(`${srv.url}/echo`, { method: "POST", headers: {}, body: form })).text());
      expect(f.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
      expect(f.body).toContain('filename="a.png"');
      expect(f.body).toContain("Content-Type: image/png");
    });

    it("an error status is an answer, not a throw", async () => {
      const res = await t.request(`${srv.url}/status?code=403`, { method: "GET", headers: {} });
      expect(res.status).toBe(403);
      expect(res.headers.get("x-custom")).toBe("yes");
      expect(await res.text()).toBe("teapot says no");
    });

    it("redirects are not followed", async () => {
      const res = await t.request(`${srv.url}/redirect`, { method: "GET", headers: {} });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe("/echo");
      res.cancel();
    });

    it("gzip and br bodies arrive decoded", async () => {
      const g = JSON.parse(await (await t.request(`${srv.url}/gzip`, { method: "GET", headers: { "accept-encoding": "gzip, deflate, br" } })).text());
      expect(g).toEqual({ encoded: "gzip", text: "ünïcödé".repeat(50) });
      const b = JSON.parse(await (await t.request(`${srv.url}/br`, { method: "GET", headers: { "accept-encoding": "gzip, deflate, br" } })).text());
      expect(b).toEqual({ encoded: "br" });
    });

    it("streams: a part is readable before the response has ended", async () => {
      const id = `${slug}-stream`;
      const res = await t.request(`${srv.url}/stream?id=${id}`, { method: "GET", headers: {} });
      const it = res.body[Symbol.asyncIterator]();
      const first = await it.next();
      expect(Buffer.from(first.value as Uint8Array).toString()).toContain('{"part":1}');
      srv.release(id);
      let rest = "";
      for (let r = await it.next(); !r.done; r = await it.next()) rest += Buffer.from(r.value).toString();
      expect(rest).toContain('{"part":3}');
    });

    it("bytes() returns the whole body", async () => {
      const res = await t.request(`${srv.url}/big`, { method: "GET", headers: {} });
      const all = await res.bytes();
      expect(all.length).toBe(16 * 64 * 1024);
      expect(all[12345]).toBe(7);
    });

    it("cancel() releases the connection (the server sees it close)", async () => {
      const res = await t.request(`${srv.url}/hold?c=${slug}`, { method: "GET", headers: {} });
      const it = res.body[Symbol.asyncIterator]();
      await it.next();
      res.cancel();
      await until(() => srv.closedEarly.includes(`/hold?c=${slug}`));
    });

    const abortWhileReading = async (id: string) => {
      const ac = new AbortController();
      const res = await t.request(`${srv.url}/hold?${id}=${slug}`, { method: "GET", headers: {}, signal: ac.signal });
      const reading = collectText(res.body);
      await new Promise((r) => setTimeout(r, 50));
      ac.abort();
      return Promise.race([reading.then(() => "ended", () => "threw"), new Promise((r) => setTimeout(() => r("still reading"), 3000))]);
    };

    it("the abort signal ends a body that is being read", async () => {
      expect(await abortWhileReading("a")).not.toBe("still reading");
    });

    it.skipIf(!!limits.abortKeepsConnection)(`the abort signal also releases the connection${limits.abortKeepsConnection ? ` — SKIPPED for ${name}: ${limits.abortKeepsConnection}` : ""}`, async () => {
      expect(await abortWhileReading("b")).not.toBe("still reading");
      await until(() => srv.closedEarly.includes(`/hold?b=${slug}`));
    });

    it("an aborted signal before the request rejects it", async () => {
      const ac = new AbortController();
      ac.abort();
      await expect(t.request(`${srv.url}/echo`, { method: "GET", headers: {}, signal: ac.signal })).rejects.toBeDefined();
    });

    it("a refused connection rejects", async () => {
      const dead = createServer();
      dead.listen(0, "127.0.0.1");
      await once(dead, "listening");
      const { port } = dead.address() as AddressInfo;
      await new Promise<void>((r) => dead.close(() => r()));
      await expect(t.request(`http://127.0.0.1:${port}/echo`, { method: "GET", headers: {} })).rejects.toBeDefined();
    });
  });
}

// ---------------------------------------------------------------------------- gateway sockets

export interface GatewayContractServer {
  url: string;
  /** Cookie headers of the upgrades the server accepted. */
  cookies: string[];
  close(): Promise<void>;
}

/** A WebSocket server: echoes text, greets, closes with 4001 on "bye"; /refuse answers 403 HTML (upgrade and GET alike); /mute never answers. */
export async function startGatewayContractServer(): Promise<GatewayContractServer> {
  const cookies: string[] = [];
  const sockets = new Set<Socket>();
  const http = createServer((req, res) => {
    if ((req.url ?? "").startsWith("/refuse")) {
      res.writeHead(403, { "content-type": "text/html", "cf-ray": "contract-1" });
      res.end("<html><title>Just a moment...</title></html>");
      return;
    }
    res.writeHead(426, { "content-type": "text/plain" });
    res.end("upgrade required");
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  http.on("upgrade", (req, socket, head) => {
    const path = req.url ?? "";
    if (path.startsWith("/refuse")) {
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-type: text/html\r\ncf-ray: contract-1\r\nconnection: close\r\n\r\n<html><title>Just a moment...</title></html>");
      return;
    }
    if (path.startsWith("/mute")) return; // never answers the upgrade
    cookies.push(String(req.headers.cookie ?? ""));
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ hello: true }));
      ws.on("message", (data, isBinary) => {
        const text = data.toString();
        if (text === "bye") ws.close(4001, "server says bye");
        else if (text === "binary") ws.send(Buffer.from([1, 2, 3]), { binary: true });
        else ws.send(isBinary ? "binary in" : `echo:${text}`);
      });
    });
  });
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    cookies,
    async close() {
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

interface Recorder extends GatewaySocketHandlers {
  log: string[];
  messages: string[];
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
  unexpected: Array<{ status: number; body: string; headers: Headers }>;
  errors: unknown[];
}

function recorder(): Recorder {
  let onClose!: (v: { code: number; reason: string }) => void;
  let onOpen!: () => void;
  const r: Recorder = {
    log: [],
    messages: [],
    unexpected: [],
    errors: [],
    closed: new Promise((res) => (onClose = res)),
    opened: new Promise((res) => (onOpen = res)),
    open: () => {
      r.log.push("open");
      onOpen();
    },
    message: (text) => {
      r.log.push("message");
      r.messages.push(text);
    },
    unexpectedResponse: (status, headers, body) => {
      r.log.push("unexpected");
      r.unexpected.push({ status, headers, body });
    },
    error: (err) => {
      r.log.push("error");
      r.errors.push(err);
    },
    close: (code, reason) => {
      r.log.push("close");
      onClose({ code, reason });
    },
  };
  return r;
}

const within = <T>(p: Promise<T>, ms = 5000) => Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no answer in ${ms} ms`)), ms))]);

/** The gateway socket contract, for a factory made by `make`. */
export function gatewaySocketContract(name: string, make: () => Promise<{ factory: GatewaySocketFactory; dispose?: () => Promise<void> | void }>): void {
  describe(`gateway socket contract: ${name}`, () => {
    let srv: GatewayContractServer;
    let open: GatewaySocketFactory;
    let dispose: (() => Promise<void> | void) | undefined;
    const opts = (cookie = "sso=tok-1; sso-rw=tok-1; x-userid=u1") => ({ headers: { origin: srv.url.replace(/^ws/, "http"), "user-agent": "Contract/1.0", cookie }, handshakeTimeoutMs: 1500, maxPayload: 1024 * 1024 });
    beforeAll(async () => {
      srv = await startGatewayContractServer();
      const made = await make();
      open = made.factory;
      dispose = made.dispose;
    });
    afterAll(async () => {
      await dispose?.();
      await srv.close();
    });

    it("opens, sends and receives text frames, and closes with the code given", async () => {
      const r = recorder();
      const s = open(`${srv.url}/ws/mgw/?uid=u1`, opts(), r);
      expect(s.isOpen).toBe(false);
      await within(r.opened);
      expect(s.isOpen).toBe(true);
      s.send("ping-1");
      await until(() => r.messages.length >= 2);
      expect(r.messages).toEqual([JSON.stringify({ hello: true }), "echo:ping-1"]);
      s.close(1000);
      const c = await within(r.closed);
      expect(c.code).toBe(1000);
      expect(s.isOpen).toBe(false);
      expect(r.errors).toEqual([]);
    });

    it("the account's cookies reach the server", async () => {
      const r = recorder();
      const s = open(`${srv.url}/ws/mgw/?uid=u2`, opts("sso=tok-2; sso-rw=tok-2; x-userid=u2"), r);
      await within(r.opened);
      expect(srv.cookies.at(-1)).toMatch(/(^|; )sso=tok-2(;|$)/);
      expect(srv.cookies.at(-1)).toMatch(/x-userid=u2/);
      s.close(1000);
      await within(r.closed);
    });

    it("a close from the server arrives with its code and reason; binary frames are not delivered", async () => {
      const r = recorder();
      const s = open(`${srv.url}/ws/mgw/?uid=u3`, opts("sso=tok-3; sso-rw=tok-3; x-userid=u3"), r);
      await within(r.opened);
      s.send("binary");
      s.send("bye");
      const c = await within(r.closed);
      expect(c).toEqual({ code: 4001, reason: "server says bye" });
      expect(r.messages).toEqual([JSON.stringify({ hello: true })]);
    });

    it("a refused upgrade is reported as the HTTP answer (status, headers, body)", async () => {
      const r = recorder();
      const s = open(`${srv.url}/refuse/ws/mgw/?uid=u4`, opts("sso=tok-4; sso-rw=tok-4; x-userid=u4"), r);
      await until(() => r.unexpected.length > 0 || r.errors.length > 0, 5000);
      expect(r.errors).toEqual([]);
      expect(r.unexpected[0]!.status).toBe(403);
      expect(r.unexpected[0]!.body).toContain("Just a moment");
      expect(r.unexpected[0]!.headers.get("cf-ray")).toBe("contract-1");
      expect(r.log).not.toContain("open");
      s.terminate();
    });

    it("an upgrade that is never answered fails within the handshake timeout", async () => {
      const r = recorder();
      const started = Date.now();
      const s = open(`${srv.url}/mute/ws/mgw/?uid=u5`, opts(), r);
      await until(() => r.errors.length > 0, 5000);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(r.log).not.toContain("open");
      s.terminate();
    });

    it("terminate() drops the connection at once; nothing is delivered after it", async () => {
      const r = recorder();
      const s = open(`${srv.url}/ws/mgw/?uid=u6`, opts("sso=tok-6; sso-rw=tok-6; x-userid=u6"), r);
      await within(r.opened);
      await until(() => r.messages.length >= 1);
      s.terminate();
      await within(r.closed);
      const seen = r.messages.length;
      await new Promise((res) => setTimeout(res, 100));
      expect(r.messages.length).toBe(seen);
      expect(s.isOpen).toBe(false);
      // pause/resume exist on every implementation (a no-op where reading cannot be paused)
      s.pause();
      s.resume();
    });
  });
}
