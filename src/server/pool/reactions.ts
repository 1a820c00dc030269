/**
 * The pool's reaction to each failure kind (grok-protocol.md §11), as a pure mutation applied to
 * the current stored record.
 */
import type { FailOptions } from "./api.js";
import type { Mutation } from "./record-state.js";
import { MAX_FAILURE_NOTES, type AccountRecord, type FailureKind, type FailureNote, type QuotaBucket } from "../core/account.js";

export const FAILURE_KINDS: readonly FailureKind[] = [
  "rate_limited", "unauthorized", "banned", "anti_bot", "cloudflare",
  "network", "upstream_error", "timeout", "empty", "request",
];

export function isFailureKind(v: unknown): v is FailureKind {
  return typeof v === "string" && (FAILURE_KINDS as readonly string[]).includes(v);
}

export const DEFAULT_COOLDOWNS: Readonly<Record<"rate_limited" | "upstream_error" | "timeout" | "empty", number>> = {
  rate_limited: 60_000,
  upstream_error: 30_000,
  timeout: 30_000,
  empty: 60_000,
};
export const DEFAULT_RATE_LIMIT_BACKOFF_MAX_MS = 3_600_000;

export interface ReactionConfig {
  cooldowns: Readonly<Record<"rate_limited" | "upstream_error" | "timeout" | "empty", number>>;
  rateLimitBackoffMaxMs: number;
}

const MAX_NOTE_CHARS = 300;

const COOLDOWN_LABEL = { upstream_error: "upstream error", timeout: "timeout", empty: "empty response" } as const;

/** Kinds that leave no trace at all on the account. */
export function leavesNoTrace(kind: FailureKind): boolean {
  return kind === "request";
}

function withNote(rec: AccountRecord, note: FailureNote): AccountRecord {
  const failures = [...rec.failures, note];
  return { ...rec, failures: failures.length > MAX_FAILURE_NOTES ? failures.slice(-MAX_FAILURE_NOTES) : failures };
}

/**
 * Rate limits in a row since the last success, not counting the one being recorded. The last success
 * is the later of the stored lastUsedAt and `lastSuccessAt` (the stored one lags: usage is batched).
 */
export function consecutiveRateLimits(rec: AccountRecord, lastSuccessAt: number | null = null): number {
  const since = Math.max(rec.lastUsedAt ?? -Infinity, lastSuccessAt ?? -Infinity);
  let n = 0;
  for (let i = rec.failures.length - 1; i >= 0; i--) {
    const f = rec.failures[i]!;
    if (f.kind !== "rate_limited" || f.at <= since) break;
    n++;
  }
  return n;
}

export function rateLimitBackoff(rec: AccountRecord, cfg: ReactionConfig, lastSuccessAt: number | null = null): number {
  const n = consecutiveRateLimits(rec, lastSuccessAt);
  return Math.min(cfg.cooldowns.rate_limited * 2 ** Math.min(n, 30), cfg.rateLimitBackoffMaxMs);
}

function withSuffix(base: string, message: string): string {
  return message ? `${base}: ${message}` : base;
}

function coolUntil(rec: AccountRecord, until: number, reason: string, now: number): AccountRecord {
  if (rec.status !== "active" && rec.status !== "cooling") return rec; // dead/disabled stay as they are
  const cooldownUntil = rec.status === "cooling" && rec.cooldownUntil !== null ? Math.max(rec.cooldownUntil, until) : until;
  return { ...rec, status: "cooling", statusReason: reason, statusAt: now, cooldownUntil };
}

function markDead(rec: AccountRecord, reason: string, now: number): AccountRecord {
  if (rec.status === "disabled") return rec; // the operator's choice wins; the note still records it
  return { ...rec, status: "dead", statusReason: reason, statusAt: now, cooldownUntil: null };
}

/** A bucket is "known" when upstream ever reported numbers for it. */
function knownBucket(b: QuotaBucket | undefined): b is QuotaBucket {
  return b !== undefined && (b.remaining !== null || b.total !== null);
}

function rateLimited(rec: AccountRecord, bucket: string, message: string, opts: FailOptions, now: number, cfg: ReactionConfig, lastSuccessAt: number | null): AccountRecord {
  const until = opts.resetAt ?? (opts.retryAfterMs !== undefined ? now + opts.retryAfterMs : now + rateLimitBackoff(rec, cfg, lastSuccessAt));
  const b = bucket === "" ? undefined : rec.quota[bucket];
  if (knownBucket(b)) {
    const exhausted: QuotaBucket = { ...b, remaining: 0, confidence: "confirmed", resetAt: until, syncedAt: now };
    return { ...rec, quota: { ...rec.quota, [bucket]: exhausted } };
  }
  return coolUntil(rec, until, withSuffix("rate limited", message), now);
}

/**
 * The reaction to one failure, or null for kinds that leave no trace ("request").
 * - rate_limited: the bucket is exhausted until opts.resetAt / now+retryAfterMs / backoff; an unknown
 *   bucket (or bucket "") cools the whole account instead. Never dead.
 * - unauthorized, banned: dead with the reason.
 * - upstream_error, timeout, empty: short account cooldown.
 * - anti_bot, cloudflare, network: failure note only.
 */
export function failureMutation(
  kind: FailureKind, bucket: string, message: string, opts: FailOptions, cfg: ReactionConfig, lastSuccessAt: number | null = null,
): Mutation | null {
  if (leavesNoTrace(kind)) return null;
  const text = message.length > MAX_NOTE_CHARS ? `${message.slice(0, MAX_NOTE_CHARS)}…` : message;
  return (current, now) => {
    const rec = withNote(current, { at: now, kind, message: text });
    switch (kind) {
      case "rate_limited":
        // the backoff counts the rate limits before this one, so it is computed on `current`
        return { ...rateLimited(current, bucket, text, opts, now, cfg, lastSuccessAt), failures: rec.failures };
      case "unauthorized":
        return markDead(rec, withSuffix("logged out / cookie expired (401)", text), now);
      case "banned":
        return markDead(rec, withSuffix("banned", text || "User is blocked"), now);
      case "upstream_error":
      case "timeout":
      case "empty":
        return coolUntil(rec, now + cfg.cooldowns[kind], withSuffix(COOLDOWN_LABEL[kind], text), now);
      default:
        return rec; // anti_bot, cloudflare, network: the account is not blamed
    }
  };
}
