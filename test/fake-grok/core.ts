import type { IncomingMessage, ServerResponse } from "node:http";
import type { WebSocket } from "ws";
import type { AccountRecord, FakeState } from "./state.js";
import type { RecordedRequest } from "./types.js";
import type { HttpFailure } from "./errors.js";
import { sendFailure } from "./errors.js";
import { debug, Timers } from "./util.js";

/** Shared runtime of the three listeners (grok, assets, signer). */
export class Core {
  readonly timers = new Timers();
  readonly openStreams = new Set<ServerResponse>();
  readonly openSockets = new Set<WebSocket>();
  url = "";
  assetsUrl = "";
  signerUrl = "";
  closing = false;

  constructor(readonly state: FakeState) {}

  get wsUrl(): string {
    return this.url.replace(/^http/, "ws");
  }
}

/** One HTTP request on any listener. */
export interface HttpCtx {
  core: Core;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  rec: RecordedRequest;
  headers: Record<string, string>;
  cookies: Record<string, string>;
  raw: Buffer;
  body: unknown;
  account?: AccountRecord;
  params: string[];
}

export function rejectHttp(ctx: HttpCtx, f: HttpFailure, reason: string): void {
  ctx.rec.rejected = { status: f.status, reason };
  debug(`reject ${ctx.rec.method} ${ctx.rec.path} → ${f.status}: ${reason}`);
  sendFailure(ctx.res, f);
}

export function sendJson(ctx: HttpCtx, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const buf = Buffer.from(JSON.stringify(body), "utf8");
  ctx.res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(buf.length),
    "x-request-id": ctx.headers["x-xai-request-id"] ?? ctx.rec.id.toString(),
    ...headers,
  });
  ctx.res.end(buf);
}

export function sendBytes(ctx: HttpCtx, status: number, bytes: Buffer, headers: Record<string, string>): void {
  ctx.res.writeHead(status, { "content-length": String(bytes.length), ...headers });
  ctx.res.end(ctx.req.method === "HEAD" ? undefined : bytes);
}
