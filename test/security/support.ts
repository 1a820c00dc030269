import { readFileSync } from "node:fs";
import { createServer, request, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import path from "node:path";
import { createLogger, type Logger } from "../../src/server/log.js";

/** Helpers of the security tests: raw HTTP with any header, a captured log, a local target server. */

export const PNG = readFileSync(path.join(import.meta.dirname, "../fake-grok/fixtures/image.png"));

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
}

/** One HTTP request with exactly the given headers (Host, Origin, Sec-Fetch-Site… included). */
export function raw(base: string, p: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port, path: p, method: opts.method ?? (opts.body !== undefined ? "POST" : "GET"), headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        let json: unknown = undefined;
        try {
          json = JSON.parse(body);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** A logger writing into an array (level debug), for "what reached the log" assertions. */
export function captureLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger("debug", "", (l) => lines.push(l)), lines };
}

export interface Target {
  url: string;
  server: Server;
  /** Paths requested so far. */
  hits: string[];
  /** Sockets closed so far (by either side). */
  closedSockets: number;
  close(): Promise<void>;
}

/**
 * A local HTTP server the image fetcher is pointed at: /img.png, /text, /redirect?to=URL,
 * /chain?n=K (K redirects, then the PNG), /drip (an image header, then one byte a second forever),
 * /fail500?body=TEXT (a 500 answering TEXT).
 */
export async function startTarget(host = "127.0.0.1", port = 0): Promise<Target> {
  const hits: string[] = [];
  const sockets = new Set<Socket>();
  const drips = new Set<NodeJS.Timeout>();
  const state = { closedSockets: 0 };
  const server = createServer((req, res: ServerResponse) => {
    const u = new URL(req.url ?? "/", "http://x");
    hits.push(u.pathname + u.search);
    if (u.pathname === "/img.png") {
      res.writeHead(200, { "content-type": "image/png", "content-length": PNG.length });
      res.end(PNG);
    } else if (u.pathname === "/text") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("not an image");
    } else if (u.pathname === "/redirect") {
      res.writeHead(302, { location: u.searchParams.get("to") ?? "/" });
      res.end();
    } else if (u.pathname === "/chain") {
      const n = Number(u.searchParams.get("n") ?? 0);
      res.writeHead(302, { location: n > 0 ? `/chain?n=${n - 1}` : "/img.png" });
      res.end();
    } else if (u.pathname === "/fail500") {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(u.searchParams.get("body") ?? "");
    } else if (u.pathname === "/drip") {
      res.writeHead(200, { "content-type": "image/png" });
      res.write(PNG.subarray(0, 8));
      const t = setInterval(() => res.write(Buffer.from([0])), 1000);
      drips.add(t);
      res.on("close", () => {
        clearInterval(t);
        drips.delete(t);
      });
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => {
      sockets.delete(s);
      state.closedSockets++;
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const h = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${h}:${addr.port}`,
    server,
    hits,
    get closedSockets() {
      return state.closedSockets;
    },
    async close() {
      for (const t of drips) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A chat completion request body carrying one image URL. */
export function chatWithImage(url: string, model = "grok-chat-fast"): string {
  return JSON.stringify({ model, messages: [{ role: "user", content: [{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url } }] }] });
}

export const JSON_HEADERS = { "content-type": "application/json" };
