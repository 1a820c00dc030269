/** Session lookup, the statsig meta page and the signer stand-in (§2.2, §2.6). */
import { createHash, randomBytes } from "node:crypto";
import type { HttpCtx } from "./core.js";
import { rejectHttp, sendJson } from "./core.js";
import { failures } from "./errors.js";
import { isPlainObject } from "./util.js";

export const META_CONTENT = "meta-1";
/** The meta name as served: with U+2015 HORIZONTAL BAR instead of the hyphen. */
export const META_NAME = "grok-site\u2015verification";

export function indexHtml(): string {
  return (
    '<!DOCTYPE html><html lang="en" class="h-full"><head><meta charSet="utf-8"/>' +
    '<meta name="viewport" content="width=device-width, initial-scale=1, maximum-scale=1, viewport-fit=cover"/>' +
    '<link rel="preload" as="script" fetchPriority="low" href="/_next/static/chunks/webpack-3f1c0d7e.js"/>' +
    `<title>Grok</title><meta name="description" content="Grok is a free AI assistant designed by xAI."/>` +
    `<meta name="${META_NAME}" content="${META_CONTENT}"/>` +
    '<meta property="og:title" content="Grok"/></head><body class="h-full"><div id="root"></div>' +
    '<script src="/_next/static/chunks/main-app-5b2c.js" async=""></script></body></html>'
  );
}

const NOT_FOUND_HTML =
  '<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/><title>404: This page could not be found.</title></head>' +
  '<body><div><h1 class="next-error-h1">404</h1><div><h2>This page could not be found.</h2></div></div></body></html>';

export function handleIndex(ctx: HttpCtx): void {
  const html = ctx.url.pathname === "/index" && ctx.core.state.options.indexReturns404 ? NOT_FOUND_HTML : indexHtml();
  const status = html === NOT_FOUND_HTML ? 404 : 200;
  const buf = Buffer.from(html, "utf8");
  ctx.res.writeHead(status, { "content-type": "text/html; charset=utf-8", "content-length": String(buf.length), "cache-control": "private, no-cache, no-store, max-age=0, must-revalidate" });
  ctx.res.end(ctx.req.method === "HEAD" ? undefined : buf);
}

/** GET /api/auth/session: authenticated / unauthenticated / blocked (200) or 401 for "http401". */
export function handleSession(ctx: HttpCtx): void {
  const { cookies, core } = ctx;
  const sso = cookies["sso"];
  const acc = sso ? core.state.accounts.get(sso) : undefined;
  if (!acc || cookies["sso-rw"] !== sso) {
    ctx.rec.rejected = { status: 200, reason: !sso ? "sso cookie missing" : !acc ? "unknown sso" : "sso-rw differs from sso" };
    return sendJson(ctx, 200, { status: "unauthenticated" });
  }
  ctx.rec.account = acc.sso;
  const session = { userId: acc.userId, email: acc.email, organizationId: `org-${acc.userId.slice(0, 8)}` };
  switch (acc.session) {
    case "http401":
      return rejectHttp(ctx, failures.unauthenticated(), "account session is http401");
    case "unauthenticated":
      return sendJson(ctx, 200, { status: "unauthenticated" });
    case "blocked":
      return sendJson(ctx, 200, { status: "blocked", session });
    default:
      return sendJson(ctx, 200, { status: "authenticated", session });
  }
}

/** 70 bytes: version, sha256(method path meta), a timestamp and random padding. */
export function signStatsig(method: string, path: string, meta: string): string {
  const buf = Buffer.alloc(70);
  buf[0] = 0x01;
  createHash("sha256").update(`${method} ${path} ${meta}`).digest().copy(buf, 1);
  buf.writeUInt32BE(Math.floor(Date.now() / 1000), 33);
  randomBytes(33).copy(buf, 37);
  return buf.toString("base64");
}

/** Signer origin: POST /sign {method, path, environment:{metaContent}}. */
export function handleSign(ctx: HttpCtx): void {
  const b = ctx.body;
  const bad = (reason: string) => {
    ctx.rec.rejected = { status: 400, reason };
    sendJson(ctx, 400, { error: reason });
  };
  if (ctx.req.method !== "POST" || ctx.url.pathname !== "/sign") {
    ctx.rec.rejected = { status: 404, reason: "signer only serves POST /sign" };
    return sendJson(ctx, 404, { error: "not found" });
  }
  if (!isPlainObject(b)) return bad("body must be a JSON object");
  if (typeof b.method !== "string" || !["GET", "POST", "PUT", "PATCH", "DELETE"].includes(b.method)) return bad("method must be an HTTP method");
  if (typeof b.path !== "string" || !b.path.startsWith("/")) return bad("path must start with /");
  if (!isPlainObject(b.environment) || typeof b.environment.metaContent !== "string") return bad("environment.metaContent is required");
  if (b.environment.metaContent !== META_CONTENT) return bad(`unknown metaContent ${b.environment.metaContent}`);
  sendJson(ctx, 200, { "x-statsig-id": signStatsig(b.method, b.path, b.environment.metaContent) });
}
