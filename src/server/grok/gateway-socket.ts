import type { IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import type WebSocketType from "ws";
import { wsProxyAgent } from "./transport.js";

/** `ws` is loaded on the first gateway chat, not at start-up. */
const lazyRequire = createRequire(import.meta.url);
let WebSocketClass: typeof WebSocketType | null = null;
export const loadWs = (): typeof WebSocketType => (WebSocketClass ??= lazyRequire("ws") as typeof WebSocketType);

/**
 * The gateway chat's WebSocket behind a small interface, so the desktop app can open it from
 * Chromium (a hidden page of the account's session) while the server uses `ws` (the default).
 * An injection point only: the server never imports Electron; the app passes its factory to
 * startServer({ upstream: { gatewaySocket } }).
 */
export interface GatewaySocketOptions {
  /** Handshake headers (Origin, User-Agent, Cookie…); an implementation that cannot set them uses its own session's. */
  headers: Record<string, string>;
  handshakeTimeoutMs: number;
  maxPayload: number;
  proxyUrl?: string;
}

export interface GatewaySocketHandlers {
  open(): void;
  /** One text frame (binary frames are not delivered). */
  message(text: string): void;
  /** The server answered the upgrade with a plain HTTP response. */
  unexpectedResponse(status: number, headers: Headers, body: string): void;
  error(err: unknown): void;
  close(code: number, reason: string): void;
}

export interface GatewaySocket {
  readonly isOpen: boolean;
  send(text: string): void;
  /** Closing handshake with `code`. */
  close(code: number): void;
  /** Drops the connection at once. */
  terminate(): void;
  /** Stops reading from the connection (backpressure); a no-op where the implementation cannot. */
  pause(): void;
  resume(): void;
}

export type GatewaySocketFactory = (url: string, opts: GatewaySocketOptions, on: GatewaySocketHandlers) => GatewaySocket;

function nodeHeaders(res: IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
  return h;
}

/** The default: the `ws` client, through proxy_url when set. */
export const wsGatewaySocket: GatewaySocketFactory = (url, opts, on) => {
  const WebSocket = loadWs();
  const ws = new WebSocket(url, {
    headers: opts.headers,
    handshakeTimeout: opts.handshakeTimeoutMs,
    maxPayload: opts.maxPayload,
    agent: wsProxyAgent(opts.proxyUrl),
    followRedirects: false,
  });
  ws.on("unexpected-response", (_req, res) => {
    const parts: Buffer[] = [];
    res.on("data", (c: Buffer) => parts.push(c));
    res.on("end", () => on.unexpectedResponse(res.statusCode ?? 0, nodeHeaders(res), Buffer.concat(parts).toString("utf8")));
    res.on("error", (err) => on.error(err));
  });
  ws.on("open", () => on.open());
  ws.on("message", (data, isBinary) => {
    if (!isBinary) on.message(data.toString());
  });
  ws.on("error", (err) => on.error(err));
  ws.on("close", (code, reason) => on.close(code, reason.toString()));
  return {
    get isOpen() {
      return ws.readyState === WebSocket.OPEN;
    },
    send: (text) => ws.send(text),
    close: (code) => ws.close(code),
    terminate: () => ws.terminate(),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  };
};
