/**
 * The neutral failure vocabulary: what went wrong upstream, classified once (grok/classify.ts)
 * and acted on by the pool (reactions), the runner (failover) and every protocol (status mapping).
 */

/**
 * Failure kinds (grok-protocol.md §11). Each has its own reaction in the pool:
 * - rate_limited: cooling until the reported reset (or a backoff); back automatically.
 * - unauthorized: cookie logged out / expired (401, session unauthenticated) → dead.
 * - banned: "User is blocked" → dead.
 * - anti_bot: code-7 anti-bot rejection → the account is not blamed (statsig refreshed, retried).
 * - cloudflare: HTML/empty 403 challenge → the account is not blamed; clear error naming clearance/proxy.
 * - network: transport error / dropped connection → try another account, no penalty beyond a short note.
 * - upstream_error: 5xx or generic upstream failure → short cooldown.
 * - timeout: first-byte / idle / total timeout → short cooldown.
 * - empty: success with no output (degraded/throttled) → short cooldown, retry elsewhere.
 * - request: the request itself was rejected (moderation, bad argument) → no side effects.
 */
export type FailureKind =
  | "rate_limited"
  | "unauthorized"
  | "banned"
  | "anti_bot"
  | "cloudflare"
  | "network"
  | "upstream_error"
  | "timeout"
  | "empty"
  | "request";

/** An upstream failure, classified (grok-protocol.md §10.5, §11). */
export interface UpstreamFailure {
  kind: FailureKind;
  message: string;
  /** HTTP status when the failure was an HTTP answer. */
  status: number | null;
  /** Upstream error code (gRPC number or string). */
  code: string | number | null;
  retryAfterMs: number | null;
  resetAt: number | null;
}
