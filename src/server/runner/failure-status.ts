import type { GrokSettings } from "../config/settings-schema.js";
import type { Tier } from "../core/account.js";
import type { UpstreamFailure } from "../core/failure.js";
import { type AttemptNote, ProxyError } from "../errors.js";
import { failure } from "../grok/classify.js";
import type { NoAccountError } from "../pool/index.js";

/**
 * Failure → status: the one place that decides which HTTP status, error code and retry hints an
 * upstream failure or an empty pool becomes. Each protocol renders the resulting ProxyError in
 * its own shape (protocols/<id>/errors).
 */

export function timeoutFailure(which: "first" | "idle" | "total", s: GrokSettings): UpstreamFailure {
  const text =
    which === "first"
      ? `no answer from grok.com within ${s.stream_first_response_timeout}s (stream_first_response_timeout)`
      : which === "idle"
        ? `grok.com went silent for ${s.stream_chunk_timeout}s (stream_chunk_timeout)`
        : `the request exceeded ${s.stream_total_timeout}s (stream_total_timeout)`;
  return failure("timeout", text);
}

export function upstreamRequestError(f: UpstreamFailure): ProxyError {
  const moderated = /moderation/i.test(f.message);
  return new ProxyError(moderated ? 403 : 400, moderated ? "content_moderated" : "invalid_request", f.message, { kind: f.kind, retryable: false });
}

const fmtTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

/** The pool had nothing to offer before any attempt. */
export function noAccountError(err: NoAccountError, model: { label: string; minTier: Tier }): ProxyError {
  const retryAfterMs = err.retryAfterMs ?? (err.nextAvailableAt ? Math.max(1000, err.nextAvailableAt - Date.now()) : null);
  switch (err.reason) {
    case "empty":
      return new ProxyError(503, "no_account", "No grok.com accounts are configured. Add SSO cookies in the manager (/manage) or with POST /api/tokens/add.", { retryable: false });
    case "tier":
      return new ProxyError(403, "forbidden", `Model ${model.label} needs a ${model.minTier} (or higher) grok.com account; none is configured.`, { retryable: false });
    case "all_dead":
      return new ProxyError(403, "upstream_unauthorized", `Every grok.com account that can serve ${model.label} is dead or disabled (cookie expired, logged out or banned). Re-add or test the accounts.`, { retryable: false });
    case "busy":
      return new ProxyError(429, "rate_limited", "All accounts are busy (per-account concurrency limit reached). Retry shortly.", { retryAfterMs: retryAfterMs ?? 1000 });
    case "queue_timeout":
    case "queue_full":
      // waited (or could not wait) for a slot: accounts free up soon, so a plain 429 with a near Retry-After
      return new ProxyError(429, "rate_limited", `All accounts that can serve ${model.label} are busy (account_concurrency). ${err.message} Retry shortly.`, { retryAfterMs: retryAfterMs ?? 1000 });
    default:
      return new ProxyError(
        429,
        "rate_limited",
        err.nextAvailableAt ? `All accounts that can serve ${model.label} are cooling down or out of quota until ${fmtTime(err.nextAvailableAt)}.` : `All accounts that can serve ${model.label} are cooling down or out of quota.`,
        { retryAfterMs: retryAfterMs ?? 60_000 },
      );
  }
}

/** A failure after output began, rendered in-band by the adapters. */
export function inBandError(f: UpstreamFailure): ProxyError {
  const e = finalError(f, [], false);
  return new ProxyError(e.status, e.code, `${e.message} ${f.message}`, { kind: f.kind, retryable: e.retryable, retryAfterMs: e.retryAfterMs });
}

/** Every attempt failed: the error names each account tried and why. */
export function finalError(last: UpstreamFailure | null, attempts: AttemptNote[], timedOut: boolean): ProxyError {
  const tried = attempts.map((a) => `${a.account}: ${a.kind} — ${a.message}`).join("; ");
  const suffix = tried ? ` Accounts tried: ${tried}` : "";
  const kind = last?.kind ?? "upstream_error";
  const opts = { attempts, kind };
  if (timedOut && kind !== "timeout") return new ProxyError(504, "upstream_timeout", `The request deadline passed before any account answered.${suffix}`, opts);
  switch (kind) {
    case "rate_limited":
      return new ProxyError(429, "rate_limited", `grok.com rate-limited every account tried.${suffix}`, { ...opts, retryAfterMs: last?.retryAfterMs ?? 60_000 });
    case "unauthorized":
    case "banned":
      return new ProxyError(403, kind === "banned" ? "upstream_banned" : "upstream_unauthorized", `grok.com rejected the account credentials.${suffix}`, { ...opts, retryable: false });
    case "anti_bot":
      return new ProxyError(403, "anti_bot_rejected", `grok.com rejected the request by its anti-bot rules (x-statsig-id, or a user agent / cf_clearance / IP mismatch).${suffix}`, { ...opts, retryable: false });
    case "cloudflare":
      return new ProxyError(403, "cloudflare_blocked", `Cloudflare blocked the request to grok.com. Set cf_clearance and user_agent from the same browser session and IP, or configure proxy_url.${suffix}`, { ...opts, retryable: false });
    case "timeout":
      return new ProxyError(504, "upstream_timeout", `grok.com did not answer in time.${suffix}`, opts);
    case "empty":
      return new ProxyError(502, "empty_response", `grok.com returned empty answers.${suffix}`, opts);
    case "request":
      return upstreamRequestError(last!);
    default:
      return new ProxyError(502, "upstream_error", `grok.com failed.${suffix}`, opts);
  }
}

