/** Quota accounting and the quota endpoints of §10 (rate-limits, quota_info, weekly credits gRPC-web). */
import type { HttpCtx } from "./core.js";
import type { AccountRecord, FakeState } from "./state.js";
import type { QuotaEntry } from "./types.js";
import { LEGACY_MODELS, MODE_IDS } from "./chat-body.js";
import { failures } from "./errors.js";
import { rejectHttp, sendJson } from "./core.js";
import { isPlainObject } from "./util.js";

const POOLED_MODES = new Set(["auto", "expert", "heavy"]);

/** True when the account may run one more turn charged to `key` (weekly pool included for paid tiers). */
export function hasChatQuota(state: FakeState, acc: AccountRecord, key: string, cost: number): boolean {
  const rem = state.remaining(acc, key);
  if (rem === undefined || rem < cost) return false;
  if (acc.tier !== "basic" && POOLED_MODES.has(key)) {
    const weekly = state.remaining(acc, "weekly");
    if (weekly !== undefined && weekly <= 0) return false;
  }
  return true;
}

export function chargeChat(state: FakeState, acc: AccountRecord, key: string, cost: number): void {
  state.consume(acc, key, cost);
  if (acc.tier !== "basic" && POOLED_MODES.has(key) && acc.quota.weekly) {
    state.consume(acc, "weekly", 1);
    acc.creditBreakdown[4] = (acc.creditBreakdown[4] ?? 0) + 1;
  }
}

export function chargeImagine(state: FakeState, acc: AccountRecord, key: string, n: number): void {
  state.consume(acc, key, n);
  if (acc.quota.weekly && acc.tier !== "basic") {
    state.consume(acc, "weekly", n);
    acc.creditBreakdown[5] = (acc.creditBreakdown[5] ?? 0) + n;
  }
}

function modeWindow(q: QuotaEntry | undefined): Record<string, unknown> {
  return {
    windowSizeSeconds: q?.windowSeconds ?? 86_400,
    remainingQueries: q?.remaining ?? 0,
    totalQueries: q?.total ?? 0,
    lowEffortRateLimits: null,
    highEffortRateLimits: null,
  };
}

function tokenBudget(q: QuotaEntry | undefined): Record<string, unknown> {
  const tokens = q?.remaining ?? 0;
  return {
    windowSizeSeconds: q?.windowSeconds ?? 7200,
    remainingQueries: 0,
    totalQueries: 0,
    remainingTokens: tokens,
    totalTokens: q?.total ?? 0,
    waitTimeSeconds: 0,
    lowEffortRateLimits: { cost: 1, remainingQueries: tokens, waitTimeSeconds: 0 },
    highEffortRateLimits: { cost: 4, remainingQueries: Math.floor(tokens / 4), waitTimeSeconds: 0 },
    preGenerationDelayMs: 0,
  };
}

/** POST /rest/rate-limits: minimal variant for mode ids, token budget for legacy models, flat for grok-4-heavy. */
export function handleRateLimits(ctx: HttpCtx): void {
  const acc = ctx.account!;
  const body = ctx.body;
  if (!isPlainObject(body) || typeof body.modelName !== "string") return rejectHttp(ctx, failures.invalid("modelName is required"), "rate-limits body without modelName");
  const kinds = ["DEFAULT", "REASONING", "DEEPSEARCH", "DEEPERSEARCH"];
  if ("requestKind" in body && !kinds.includes(body.requestKind as string)) return rejectHttp(ctx, failures.invalid("invalid requestKind"), `requestKind ${String(body.requestKind)}`);
  const name = body.modelName;
  if ((MODE_IDS as readonly string[]).includes(name)) return sendJson(ctx, 200, modeWindow(acc.quota[name]));
  if (name === "grok-4-heavy") {
    const q = acc.quota.heavy;
    return sendJson(ctx, 200, { windowSizeSeconds: q?.windowSeconds ?? 7200, remainingQueries: q?.remaining ?? 0, totalQueries: q?.total ?? 0 });
  }
  if ((LEGACY_MODELS as readonly string[]).includes(name)) return sendJson(ctx, 200, tokenBudget(acc.quota.tokens));
  return rejectHttp(ctx, failures.invalid(`unknown model ${name}`), `rate-limits for unknown model ${name}`);
}

function imagineEntry(q: QuotaEntry | undefined): Record<string, unknown> | null {
  if (!q) return null;
  if (q.total <= 0) return { available: false };
  const out: Record<string, unknown> = { available: true, remainingQueries: q.remaining, windowSizeSeconds: q.windowSeconds };
  if (q.nextAvailableAt) out.nextAvailableAt = q.nextAvailableAt;
  return out;
}

/** POST /rest/media/imagine/quota_info: all five keys, null where the product does not apply. */
export function handleQuotaInfo(ctx: HttpCtx): void {
  const q = ctx.account!.quota;
  if (ctx.body !== undefined && !isPlainObject(ctx.body)) return rejectHttp(ctx, failures.invalid("body must be an object"), "quota_info body not an object");
  sendJson(ctx, 200, {
    image: null,
    imageEdit: imagineEntry(q.image_edit),
    imagePro: imagineEntry(q.image_pro),
    video: imagineEntry(q.video),
    video720p: imagineEntry(q.video_720p),
  });
}

// ---------- protobuf / gRPC-web ----------

function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

const key = (field: number, wire: number) => varint((field << 3) | wire);
const len = (field: number, payload: Buffer) => Buffer.concat([key(field, 2), varint(payload.length), payload]);
const vint = (field: number, n: number | bigint) => Buffer.concat([key(field, 0), varint(n)]);
function f32(field: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v, 0);
  return Buffer.concat([key(field, 5), b]);
}

export interface Timestamp {
  seconds: number;
  nanos?: number;
}
const ts = (t: Timestamp) => Buffer.concat([vint(1, t.seconds), t.nanos ? vint(2, t.nanos) : Buffer.alloc(0)]);

export interface CreditsConfig {
  /** Used percent of the weekly pool; undefined for free accounts (no pool). */
  usedPercent?: number;
  start: Timestamp;
  end: Timestamp;
  /** product code → percent (0 third-party, 1 API, 2 Build, 3 Plugins, 4 Chat, 5 Imagine, 6 Voice). */
  breakdown: Array<{ code: number; percent: number }>;
}

/** GetGrokCreditsConfig response message (field 1 = config), shaped like the §10.3 capture. */
export function encodeCreditsMessage(c: CreditsConfig): Buffer {
  const parts: Buffer[] = [];
  if (c.usedPercent !== undefined) {
    parts.push(f32(1, c.usedPercent), len(2, Buffer.alloc(0)), len(3, Buffer.alloc(0)), len(4, ts(c.start)), len(5, ts(c.end)));
    for (const b of c.breakdown) parts.push(len(7, Buffer.concat([vint(1, b.code), b.percent ? f32(2, b.percent) : Buffer.alloc(0)])));
    parts.push(len(8, Buffer.concat([vint(1, 2), len(2, ts(c.start)), len(3, ts(c.end))])), vint(11, 1), len(12, Buffer.alloc(0)), vint(13, 1));
  } else {
    parts.push(len(2, Buffer.alloc(0)), len(3, Buffer.alloc(0)), len(4, ts(c.start)), len(5, ts(c.end)));
  }
  return len(1, Buffer.concat(parts));
}

export function grpcWebFrame(message: Buffer, status = 0): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  const trailerText = Buffer.from(`grpc-status:${status}\r\n`, "latin1");
  const trailer = Buffer.alloc(5);
  trailer[0] = 0x80;
  trailer.writeUInt32BE(trailerText.length, 1);
  return Buffer.concat([head, message, trailer, trailerText]);
}

/** Only the OK trailer (account setup calls). */
export function grpcWebOkTrailer(): Buffer {
  const text = Buffer.from("grpc-status:0\r\n", "latin1");
  const t = Buffer.alloc(5);
  t[0] = 0x80;
  t.writeUInt32BE(text.length, 1);
  return Buffer.concat([t, text]);
}

/** The weekly period of an account: 7 days starting at a fixed weekday/time before its creation. */
export function creditsConfigFor(acc: AccountRecord): CreditsConfig {
  const created = Math.floor(acc.createdAt / 1000);
  const startSec = created - ((created - 1783831962) % (7 * 86_400) + 7 * 86_400) % (7 * 86_400);
  const weekly = acc.quota.weekly;
  if (acc.tier === "basic" || !weekly) {
    return { start: { seconds: startSec }, end: { seconds: startSec + 7 * 86_400 }, breakdown: [] };
  }
  const used = weekly.total > 0 ? ((weekly.total - weekly.remaining) / weekly.total) * 100 : 100;
  const breakdown = Object.entries(acc.creditBreakdown)
    .map(([code, percent]) => ({ code: Number(code), percent }))
    .sort((a, b) => b.code - a.code);
  return { usedPercent: used, start: { seconds: startSec, nanos: 529_824_000 }, end: { seconds: startSec + 7 * 86_400, nanos: 529_824_000 }, breakdown };
}

export function handleCredits(ctx: HttpCtx): void {
  const ct = (ctx.headers["content-type"] ?? "").split(";")[0]!.trim();
  if (ct !== "application/grpc-web+proto") return rejectHttp(ctx, failures.invalid("content-type must be application/grpc-web+proto"), `credits content-type ${ct}`);
  if (!ctx.raw.equals(Buffer.from([0, 0, 0, 0, 0]))) return rejectHttp(ctx, failures.invalid("expected the empty gRPC-web message"), "credits body is not 00 00 00 00 00");
  const body = grpcWebFrame(encodeCreditsMessage(creditsConfigFor(ctx.account!)));
  ctx.res.writeHead(200, { "content-type": "application/grpc-web+proto", "content-length": String(body.length), "grpc-accept-encoding": "identity" });
  ctx.res.end(body);
}
