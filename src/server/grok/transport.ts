import type { Agent } from "node:http";
import { createRequire } from "node:module";
import type { Readable } from "node:stream";
import type { HttpsProxyAgent } from "https-proxy-agent";
import type { Impit, Browser } from "impit";
import type { SocksProxyAgent } from "socks-proxy-agent";
import type { ProxyAgent, request as undiciRequestFn } from "undici";
import { iterate } from "../../shared/web-streams.js";
import { type ImpitWorkerHost, impitWorkerHost } from "./impit-worker-host.js";
import { encodeFormData, streamedResponse } from "./upstream-response.js";

export { stopImpitWorker } from "./impit-worker-host.js";

/**
 * The clients are loaded on first use, not at start-up (impit's native binding, undici, the
 * proxy agents): a server that never calls grok.com — or uses only one transport — never loads
 * the other. `require` keeps the call sites synchronous.
 */
const lazyRequire = createRequire(import.meta.url);
let impitModule: typeof import("impit") | null = null;
let undiciModule: { ProxyAgent: typeof ProxyAgent; request: typeof undiciRequestFn } | null = null;
const loadImpit = () => (impitModule ??= lazyRequire("impit") as typeof import("impit"));
const loadUndici = () => (undiciModule ??= lazyRequire("undici") as { ProxyAgent: typeof ProxyAgent; request: typeof undiciRequestFn });

/**
 * Upstream HTTP transports. Both stream the response body, honour `proxyUrl` and cancel on
 * the AbortSignal. impit impersonates Chrome's TLS/HTTP2 fingerprint (the default; it runs in a
 * worker thread, impit-worker-host.ts, unless GROK2API_IMPIT_WORKER=0);
 * fetch is plain Node (undici) for debugging and for hosts where impit's binary is missing.
 */
export interface UpstreamResponse {
  status: number;
  headers: Headers;
  body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
  bytes(): Promise<Uint8Array>;
  /** Stops reading and releases the connection. */
  cancel(): void;
}

export interface RequestOptions {
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string | Uint8Array | FormData;
  signal?: AbortSignal;
  proxyUrl?: string;
}

export interface HttpTransport {
  /** "chromium": supplied by the desktop app (Chromium's network stack), see startServer's `upstream` option. */
  readonly name: "impit" | "fetch" | "chromium";
  request(url: string, opts: RequestOptions): Promise<UpstreamResponse>;
}

function wrap(status: number, headers: Headers, stream: ReadableStream<Uint8Array> | null, signal: AbortSignal | undefined, cancel: () => void): UpstreamResponse {
  // cancel() goes through the stream (its reader once reading began): aborting the response alone
  // left impit's connection open and its pending read rejecting unhandled (transport contract test)
  const stop = new AbortController();
  let started = false;
  const inner = iterate(stream, signal ? AbortSignal.any([signal, stop.signal]) : stop.signal);
  const body: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      started = true;
      return inner[Symbol.asyncIterator]();
    },
  };
  return streamedResponse(status, headers, body, () => {
    if (started) stop.abort();
    else stream?.cancel().catch(() => {});
    cancel();
  });
}

const CHROME_PROFILES = [100, 101, 104, 107, 110, 116, 124, 125, 131, 136, 142, 151];
const FIREFOX_PROFILES = [128, 133, 135, 144];

/** The impit browser profile nearest to the user agent's browser and major version. */
export function impitProfileFor(userAgent: string): Browser {
  const ff = /Firefox\/(\d+)/.exec(userAgent);
  const nearest = (list: number[], v: number) => list.reduce((a, b) => (Math.abs(b - v) < Math.abs(a - v) ? b : a));
  if (ff) return `firefox${nearest(FIREFOX_PROFILES, Number(ff[1]))}` as Browser;
  const chrome = /Chrome\/(\d+)/.exec(userAgent);
  return `chrome${nearest(CHROME_PROFILES, chrome ? Number(chrome[1]) : 142)}` as Browser;
}

export interface ImpitTransportOptions {
  /**
   * Run impit in a worker thread (the default; `GROK2API_IMPIT_WORKER=0` turns it off): impit
   * costs one main-thread callback per upstream chunk, the worker posts them in ~2 ms batches.
   */
  worker?: boolean;
  /** The worker host (default: the process's one, impit-worker-host.ts). */
  host?: ImpitWorkerHost;
}

export class ImpitTransport implements HttpTransport {
  readonly name = "impit" as const;
  private readonly clients = new Map<string, Impit>();
  private readonly profileFor: () => Browser;
  private readonly host: ImpitWorkerHost | null;

  constructor(profileFor: () => Browser, opts: ImpitTransportOptions = {}) {
    this.profileFor = profileFor;
    const worker = opts.worker ?? process.env.GROK2API_IMPIT_WORKER?.trim() !== "0";
    this.host = worker ? (opts.host ?? impitWorkerHost()) : null;
  }

  /** "worker" or "main-thread". */
  get mode(): "worker" | "main-thread" {
    return this.host ? "worker" : "main-thread";
  }

  private client(proxyUrl?: string): Impit {
    const profile = this.profileFor();
    const key = `${profile}|${proxyUrl ?? ""}`;
    let c = this.clients.get(key);
    if (!c) {
      c = new (loadImpit().Impit)({ browser: profile, ...(proxyUrl ? { proxyUrl } : {}), followRedirects: false, timeout: 86_400_000 }); // the pipeline owns timeouts
      this.clients.set(key, c);
    }
    return c;
  }

  async request(url: string, opts: RequestOptions): Promise<UpstreamResponse> {
    if (this.host) return this.host.request(url, opts, this.profileFor());
    const res = await this.client(opts.proxyUrl).fetch(url, {
      method: opts.method,
      headers: opts.headers,
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      redirect: "manual",
    });
    return wrap(res.status, res.headers, res.body, opts.signal, () => {
      try {
        res.abort();
      } catch {
        /* already finished */
      }
    });
  }
}

/** Plain Node HTTP (undici's low-level `request`, streaming a Node Readable), no impersonation. */
export class FetchTransport implements HttpTransport {
  readonly name = "fetch" as const;
  private readonly agents = new Map<string, ProxyAgent>();

  private dispatcher(proxyUrl?: string): ProxyAgent | undefined {
    if (!proxyUrl) return undefined;
    if (!/^https?:/i.test(proxyUrl)) throw new Error(`the fetch transport supports http(s) proxies only; use GROK2API_TRANSPORT=impit for ${proxyUrl.split(":")[0]}`);
    let a = this.agents.get(proxyUrl);
    if (!a) this.agents.set(proxyUrl, (a = new (loadUndici().ProxyAgent)(proxyUrl)));
    return a;
  }

  async request(url: string, opts: RequestOptions): Promise<UpstreamResponse> {
    const dispatcher = this.dispatcher(opts.proxyUrl);
    let body: string | Uint8Array | undefined;
    const headers = { ...opts.headers };
    if (opts.body instanceof FormData) body = await encodeFormData(opts.body, headers);
    else body = opts.body;
    const res = await loadUndici().request(url, {
      method: opts.method,
      headers,
      body,
      signal: opts.signal,
      ...(dispatcher ? { dispatcher } : {}),
    });
    const h = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : String(v));
    const stream = decodeBody(res.body, h.get("content-encoding"));
    return streamedResponse(res.statusCode, h, stream, () => {
      // destroying emits an AbortError; unheard, it would be an uncaught exception (transport contract test)
      stream.on("error", () => {});
      res.body.on("error", () => {});
      res.body.destroy();
    });
  }
}

/** undici's `request` does not decompress: do it here for the encodings we advertise. */
function decodeBody(body: Readable, encoding: string | null): Readable {
  const e = (encoding ?? "").trim().toLowerCase();
  if (e === "" || e === "identity") return body;
  const zlib = lazyRequire("node:zlib") as typeof import("node:zlib");
  const make = e === "gzip" || e === "x-gzip" ? zlib.createGunzip : e === "deflate" ? zlib.createInflate : e === "br" ? zlib.createBrotliDecompress : null;
  if (!make) return body;
  const out = make();
  body.on("error", (err) => out.destroy(err));
  out.on("close", () => body.destroy());
  return body.pipe(out);
}

/** An http.Agent for the WebSocket client that tunnels through proxy_url (http(s) or socks). */
export function wsProxyAgent(proxyUrl?: string): Agent | undefined {
  if (!proxyUrl) return undefined;
  if (/^socks/i.test(proxyUrl)) {
    const { SocksProxyAgent: Socks } = lazyRequire("socks-proxy-agent") as { SocksProxyAgent: typeof SocksProxyAgent };
    return new Socks(proxyUrl) as unknown as Agent;
  }
  if (/^https?:/i.test(proxyUrl)) {
    const { HttpsProxyAgent: Https } = lazyRequire("https-proxy-agent") as { HttpsProxyAgent: typeof HttpsProxyAgent };
    return new Https(proxyUrl) as unknown as Agent;
  }
  throw new Error(`unsupported proxy_url scheme: ${proxyUrl}`);
}

export function createTransport(name: "impit" | "fetch", userAgent: () => string): HttpTransport {
  return name === "fetch" ? new FetchTransport() : new ImpitTransport(() => impitProfileFor(userAgent()));
}
