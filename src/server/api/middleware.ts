import { randomUUID } from "node:crypto";
import type { Context, Next } from "koa";
import { ProxyError, toProxyError } from "../errors.js";
import type { Logger } from "../log.js";

/** Renders an error in the caller's protocol: the status may differ from err.status (Anthropic's 529). */
export type ErrorRenderer = (err: ProxyError, ctx: Context) => { status: number; body: unknown };

export function requestId() {
  return async (ctx: Context, next: Next) => {
    const id = `req_${randomUUID().replace(/-/g, "")}`;
    ctx.state.requestId = id;
    ctx.set("x-request-id", id);
    ctx.set("request-id", id); // Anthropic's name (api-conformance.md §1.3)
    await next();
  };
}

// Host, Origin, CORS and client-key guards live in guards.ts; bodies in body.ts (re-exported here).
export { clientAuth, cors, isAdminPath, isClientPath, isSameOrigin, KeyFailureThrottle, loopbackHostGuard, originGuard, presentedKey, safeEqual } from "./guards.js";
export { ADMIN_JSON_LIMIT, LOGIN_LIMIT, MAX_BODY, mediaType, readJson, readPlainText, readText, requireMediaType } from "./body.js";

/** True when the failure is the client going away (aborted upload, closed socket), not ours. */
function clientWentAway(ctx: Context, err: ProxyError): boolean {
  if (ctx.state.clientAborted) return true;
  const code = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE" || code === "ECONNABORTED" || code === "EPIPE") return true;
  return !!ctx.req.socket?.destroyed || ctx.res.destroyed;
}

/** Renders any thrown error in the caller's protocol shape, with honest status and retry headers. */
export function errors(log: Logger, renderFor: (ctx: Context) => ErrorRenderer) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new ProxyError(404, "not_found", `Unknown route: ${ctx.method} ${ctx.path}`);
    } catch (raw) {
      const err = toProxyError(raw);
      const cause = (err.cause as Error | undefined)?.message;
      if (clientWentAway(ctx, err)) log.debug("client went away", { requestId: ctx.state.requestId, path: ctx.path, code: err.code, message: err.message, cause });
      else if (err.code === "internal_error") log.error("request failed", { requestId: ctx.state.requestId, path: ctx.path, code: err.code, message: err.message, cause });
      else log[err.status >= 500 || err.status === 429 ? "warn" : "debug"]("request rejected", { requestId: ctx.state.requestId, path: ctx.path, status: err.status, code: err.code, message: err.message, ...(cause ? { cause } : {}) });
      if (ctx.headerSent || ctx.respond === false) return; // streaming handlers report in-band
      const rendered = renderFor(ctx)(err, ctx);
      ctx.status = rendered.status;
      if (err.retryAfterMs !== null) ctx.set("retry-after", String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
      if (err.retryable === false) ctx.set("x-should-retry", "false");
      ctx.type = "application/json";
      ctx.body = rendered.body;
    }
  };
}
