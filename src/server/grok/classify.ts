import type { FailureKind } from "../core/account.js";
import type { UpstreamFailure } from "../core/events.js";

/**
 * Classification of upstream failures (grok-protocol.md §2.7, §3.10, §10.5, §11), checked in the
 * doc's order: banned before anti-bot, so the ban signal is never lost to a statsig retry.
 */

const lc = (s: unknown) => String(s ?? "").toLowerCase();

export function isBannedText(text: string): boolean {
  const t = lc(text);
  return t.includes("blocked-user") || t.includes("user is blocked");
}

export function isCloudflareBody(body: string, headers?: Headers | null): boolean {
  const t = lc(body);
  if (t.includes("just a moment") || t.includes("challenge-platform") || t.includes("__cf_chl") || t.includes("cf-chl-")) return true;
  if (headers && (lc(headers.get("server")) === "cloudflare" || headers.get("cf-ray")) && !looksJson(body)) return true;
  return false;
}

function looksJson(body: string): boolean {
  const t = body.trim();
  return t.startsWith("{") || t.startsWith("[");
}

function isUsageLimit(text: string): boolean {
  const t = lc(text);
  return t.includes("usage limit") || t.includes("usage quota") || t.includes("too many requests");
}

function isModeration(text: string): boolean {
  const t = lc(text);
  return t.includes("content-moderated") || t.includes("content violates usage guidelines") || t.includes("safety_check_type_");
}

export function failure(kind: FailureKind, message: string, extra: Partial<UpstreamFailure> = {}): UpstreamFailure {
  return { kind, message, status: null, code: null, retryAfterMs: null, resetAt: null, ...extra };
}

/** Reads `{"error":{"code","message"}}` or top-level `{"code","message"}`. */
export function errorFields(body: unknown): { code: string | number | null; message: string } {
  if (body && typeof body === "object") {
    const o = body as Record<string, unknown>;
    const inner = (o.error && typeof o.error === "object" ? o.error : o) as Record<string, unknown>;
    const code = typeof inner.code === "number" || typeof inner.code === "string" ? inner.code : null;
    const message = typeof inner.message === "string" ? inner.message : typeof o.error === "string" ? o.error : "";
    return { code, message };
  }
  return { code: null, message: "" };
}

export function parseRetryAfter(headers: Headers | null | undefined, now = Date.now()): number | null {
  const v = headers?.get("retry-after");
  if (!v) return null;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return Math.round(secs * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

/** An HTTP answer that is not a success (REST call or refused WebSocket handshake). */
export function classifyHttp(status: number, bodyText: string, headers: Headers | null = null): UpstreamFailure {
  let parsed: unknown = null;
  try {
    parsed = looksJson(bodyText) ? JSON.parse(bodyText) : null;
  } catch {
    parsed = null;
  }
  const { code, message } = errorFields(parsed);
  const retryAfterMs = parseRetryAfter(headers);
  const snippet = message || bodyText.replace(/\s+/g, " ").trim().slice(0, 200);
  const base = { status, code, retryAfterMs };
  if (isBannedText(bodyText)) return failure("banned", `account banned: ${snippet}`, base);
  if (status === 401 || code === 16) return failure("unauthorized", `SSO cookie rejected (401): ${snippet || "unauthenticated"}`, base);
  if (status === 429 || code === 8 || isUsageLimit(message)) return failure("rate_limited", `rate limited (${status}): ${snippet || "too many requests"}`, base);
  if (status === 403 || status === 503) {
    if (!parsed && (bodyText.trim() === "" || isCloudflareBody(bodyText, headers) || /<html/i.test(bodyText)))
      return failure("cloudflare", "Cloudflare/egress rejected the request (HTTP " + status + "). Set cf_clearance and user_agent from the same browser, or use a proxy_url that grok.com accepts.", base);
  }
  if (status === 403) {
    if (isModeration(bodyText)) return failure("request", `rejected by content moderation: ${snippet}`, base);
    if (code === 7 || lc(message).includes("anti-bot")) return failure("anti_bot", `rejected by grok.com anti-bot rules: ${snippet}`, base);
    if (lc(message).includes("model is not found")) return failure("request", `upstream does not know this model: ${snippet}`, base);
    return failure("upstream_error", `upstream refused (403): ${snippet}`, base);
  }
  if (status === 400 || status === 404 || status === 413 || status === 422) return failure("request", `upstream rejected the request (${status}): ${snippet}`, base);
  if (status >= 500) return failure("upstream_error", `upstream error ${status}: ${snippet}`, base);
  return failure("upstream_error", `unexpected upstream status ${status}: ${snippet}`, base);
}

/** An error object inside a 200 stream (REST `error` line, `result.response.error`, gateway `error`/`stream_error`). */
export function classifyInStream(code: string | number | null, message: string): UpstreamFailure {
  const m = message || String(code ?? "upstream error");
  const extra = { code };
  if (isBannedText(m)) return failure("banned", `account banned: ${m}`, extra);
  if (code === 16 || lc(code) === "unauthenticated") return failure("unauthorized", `SSO cookie rejected: ${m}`, extra);
  if (code === 7 || lc(m).includes("anti-bot") || lc(code).includes("anti_bot")) return failure("anti_bot", `rejected by grok.com anti-bot rules: ${m}`, extra);
  if (code === 8 || isUsageLimit(m) || lc(code).includes("rate_limit")) return failure("rate_limited", `rate limited: ${m}`, extra);
  if (isModeration(m)) return failure("request", `rejected by content moderation: ${m}`, extra);
  if (lc(code) === "conversation_not_found") return failure("request", `conversation not found: ${m}`, extra);
  return failure("upstream_error", m, extra);
}

/** A thrown transport error (connection refused, reset, TLS, aborted by a timeout). */
export function classifyTransportError(err: unknown): UpstreamFailure {
  const message = err instanceof Error ? err.message : String(err);
  return failure("network", `network error talking to grok.com: ${message}`);
}
