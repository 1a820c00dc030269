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

/** The handlers of a `ws` socket, on the socket itself: its listeners below are shared functions, not closures per socket. */
const HANDLERS = Symbol("gateway handlers");
type WsWithHandlers = WebSocketType & { [HANDLERS]: GatewaySocketHandlers };
const handlersOf = (ws: WebSocketType): GatewaySocketHandlers => (ws as WsWithHandlers)[HANDLERS];

function onUnexpectedResponse(this: WebSocketType, _req: unknown, res: IncomingMessage): void {
  const on = handlersOf(this);
  const parts: Buffer[] = [];
  res.on("data", (c: Buffer) => parts.push(c));
  res.on("end", () => on.unexpectedResponse(res.statusCode ?? 0, nodeHeaders(res), Buffer.concat(parts).toString("utf8")));
  res.on("error", (err) => on.error(err));
}
function onOpen(this: WebSocketType): void {
  handlersOf(this).open();
}
function onMessage(this: WebSocketType, data: WebSocketType.RawData, isBinary: boolean): void {
  if (!isBinary) handlersOf(this).message(data.toString());
}
function onError(this: WebSocketType, err: Error): void {
  handlersOf(this).error(err);
}
function onClose(this: WebSocketType, code: number, reason: Buffer): void {
  handlersOf(this).close(code, reason.toString());
}

/** The GatewaySocket face of a `ws` client. */
class WsGatewaySocket implements GatewaySocket {
  constructor(private readonly ws: WebSocketType) {}
  get isOpen(): boolean {
    return this.ws.readyState === 1; // WebSocket.OPEN
  }
  send(text: string): void {
    this.ws.send(text);
  }
  close(code: number): void {
    this.ws.close(code);
  }
  terminate(): void {
    this.ws.terminate();
  }
  pause(): void {
    this.ws.pause();
  }
  resume(): void {
    this.ws.resume();
  }
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
  }) as WsWithHandlers;
  ws[HANDLERS] = on;
  ws.on("unexpected-response", onUnexpectedResponse);
  ws.on("open", onOpen);
  ws.on("message", onMessage);
  ws.on("error", onError);
  ws.on("close", onClose);
  return new WsGatewaySocket(ws);
};
