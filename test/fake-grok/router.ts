/** Route table and request pipeline of the grok.com origin (§1.3, §12.1, §12.3). */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Core, HttpCtx } from "./core.js";
import type { CheckResult } from "./validate.js";
import { rejectHttp } from "./core.js";
import { failures, sendFailure } from "./errors.js";
import { boundaryOf, parseMultipart } from "./multipart.js";
import { handleBirthDate, handleCreateLink, handleFeatureControls, handleModes, handlePostCreate, handleTos, handleTts, handleUpscale } from "./media-routes.js";
import { handleCredits, handleQuotaInfo, handleRateLimits } from "./quota.js";
import { handleConversation } from "./rest-chat.js";
import { handleIndex, handleSession } from "./site.js";
import { handleRpc, handleUploadJson, handleUploadStatus, handleUploadV2 } from "./uploads.js";
import { debug, flatHeaders, parseCookies, queryOf, readBody } from "./util.js";
import {
  authenticate, checkCloudflare, checkOrigin, checkRequestId, checkStatsig, checkStrictUserAgent, checkUserAgentPresent, isJsonContentType,
} from "./validate.js";

type BodyKind = "none" | "json" | "json-or-text" | "multipart" | "grpc";

interface Route {
  method: "GET" | "POST";
  re: RegExp;
  /** Cookie account required. */
  auth: boolean;
  /** Origin header required (when absent on other routes it is fine; when present it must match). */
  origin: boolean;
  statsig: boolean;
  requestId: boolean;
  body: BodyKind;
  handler: (ctx: HttpCtx) => void | Promise<void>;
}

function rest(re: RegExp, handler: Route["handler"], extra: Partial<Route> = {}): Route {
  return { method: "POST", re, auth: true, origin: true, statsig: true, requestId: true, body: "json", handler, ...extra };
}

const ROUTES: Route[] = [
  { method: "GET", re: /^\/api\/auth\/session$/, auth: false, origin: false, statsig: false, requestId: false, body: "none", handler: handleSession },
  { method: "GET", re: /^\/(?:index)?$/, auth: false, origin: false, statsig: false, requestId: false, body: "none", handler: handleIndex },
  rest(/^\/rest\/app-chat\/conversations\/new$/, (ctx) => handleConversation(ctx, false)),
  rest(/^\/rest\/app-chat\/conversations\/([^/]+)\/responses$/, (ctx) => handleConversation(ctx, true)),
  rest(/^\/rest\/app-chat\/upload-file$/, handleUploadJson, { body: "json-or-text" }),
  rest(/^\/api\/rpc$/, handleRpc, { statsig: false, requestId: false }),
  rest(/^\/http\/upload-file-v2\/direct$/, handleUploadV2, { statsig: false, requestId: false, body: "multipart" }),
  { method: "GET", re: /^\/rest\/app-chat\/upload-file-v2\/status$/, auth: true, origin: false, statsig: false, requestId: false, body: "none", handler: handleUploadStatus },
  rest(/^\/rest\/media\/post\/create$/, handlePostCreate),
  rest(/^\/rest\/media\/post\/create-link$/, handleCreateLink),
  rest(/^\/rest\/media\/video\/upscale$/, handleUpscale),
  rest(/^\/rest\/rate-limits$/, handleRateLimits),
  rest(/^\/rest\/media\/imagine\/quota_info$/, handleQuotaInfo),
  rest(/^\/grok_api_v2\.GrokBuildBilling\/GetGrokCreditsConfig$/, handleCredits, { statsig: false, requestId: false, body: "grpc" }),
  rest(/^\/rest\/modes$/, handleModes, { statsig: false }),
  { method: "GET", re: /^\/http\/app-chat\/read-response-audio-file\/([^/]+)$/, auth: true, origin: false, statsig: true, requestId: false, body: "none", handler: handleTts },
  rest(/^\/rest\/auth\/set-tos-accepted$/, handleTos),
  rest(/^\/rest\/auth\/set-birth-date$/, handleBirthDate),
  rest(/^\/auth_mgmt\.AuthManagement\/UpdateUserFeatureControls$/, handleFeatureControls, { requestId: false, body: "grpc" }),
];

/** Parsed form of a request body for the record: JSON, multipart {fields, files}, text or bytes. */
export function parseBody(headers: Record<string, string>, raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  const ct = (headers["content-type"] ?? "").toLowerCase();
  const boundary = boundaryOf(headers["content-type"]);
  if (boundary) {
    try {
      return parseMultipart(raw, boundary);
    } catch {
      return raw;
    }
  }
  if (ct.includes("grpc") || ct.includes("octet-stream") || ct.includes("proto")) return raw;
  const text = raw.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return Buffer.from(text, "utf8").equals(raw) ? text : raw;
  }
}

function checkBody(ctx: HttpCtx, kind: BodyKind): CheckResult {
  if (kind !== "json" && kind !== "json-or-text") return undefined;
  if (!isJsonContentType(ctx.headers["content-type"], kind === "json-or-text")) {
    return { failure: failures.invalid("Content-Type must be application/json"), reason: `content-type ${ctx.headers["content-type"] ?? "(none)"}` };
  }
  if (ctx.raw.length === 0 || typeof ctx.body === "string" || Buffer.isBuffer(ctx.body)) {
    return { failure: failures.invalid("request body must be JSON"), reason: "body is not valid JSON" };
  }
  return undefined;
}

function refuse(ctx: HttpCtx, r: NonNullable<CheckResult>): false {
  rejectHttp(ctx, r.failure, r.reason);
  return false;
}

/** Runs the validations of §12.3 in order; returns false when the request was answered. */
function runChecks(ctx: HttpCtx, route: Route): boolean {
  const core = ctx.core;
  const view = { headers: ctx.headers, cookies: ctx.cookies };
  const early = checkCloudflare(core, view) ?? checkUserAgentPresent(view) ?? checkOrigin(core, view, route.origin);
  if (early) return refuse(ctx, early);
  if (route.auth) {
    const auth = authenticate(core, view);
    if ("failure" in auth) {
      if (auth.account) ctx.rec.account = auth.account.sso;
      return refuse(ctx, auth);
    }
    ctx.account = auth.account;
    ctx.rec.account = auth.account.sso;
    const ua = checkStrictUserAgent(core, view, auth.account);
    if (ua) return refuse(ctx, ua);
  }
  const late = (route.statsig ? checkStatsig(core, view) : undefined) ?? (route.requestId ? checkRequestId(core, view) : undefined) ?? checkBody(ctx, route.body);
  if (late) return refuse(ctx, late);
  return true;
}

export async function handleGrokRequest(core: Core, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const raw = await readBody(req);
  const headers = flatHeaders(req.headers);
  const cookies = parseCookies(headers["cookie"]);
  const body = parseBody(headers, raw);
  const rec = core.state.record({ transport: "http", method: req.method ?? "GET", path: url.pathname, query: queryOf(url), headers, cookies, body, server: "grok" });
  const ctx: HttpCtx = { core, req, res, url, rec, headers, cookies, raw, body, params: [] };
  const method = req.method === "HEAD" ? "GET" : req.method;
  const route = ROUTES.find((r) => r.method === method && r.re.test(url.pathname));
  if (!route) {
    const known = ROUTES.some((r) => r.re.test(url.pathname));
    return rejectHttp(ctx, known ? { ...failures.invalid("method not allowed"), status: 405 } : failures.notFound("Not Found"), `no route for ${req.method} ${url.pathname}`);
  }
  ctx.params = (route.re.exec(url.pathname) ?? []).slice(1).map((p) => decodeURIComponent(p));
  if (!runChecks(ctx, route)) return;
  try {
    await route.handler(ctx);
  } catch (e) {
    debug("handler error", e);
    if (!res.headersSent) sendFailure(res, failures.internal());
    else res.destroy();
  }
}
