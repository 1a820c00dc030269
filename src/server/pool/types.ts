/**
 * Account model shared by the pool (src/server/pool) and the stores (src/server/store).
 * Times are Unix epoch milliseconds. A record is plain JSON so every backend can store it as-is.
 */

/** Subscription tier. Order matters: basic < super < heavy. */
export type Tier = "basic" | "super" | "heavy";
export const TIER_ORDER: readonly Tier[] = ["basic", "super", "heavy"];

/** active: usable; cooling: rate-limited until cooldownUntil; dead: credentials bad or banned; disabled: by the operator. */
export type AccountStatus = "active" | "cooling" | "dead" | "disabled";

/** How far a quota figure can be trusted. */
export type QuotaConfidence = "confirmed" | "estimated" | "unknown";

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

export interface QuotaBucket {
  /** Remaining queries in the window, null when unknown. */
  remaining: number | null;
  /** Window total as reported upstream, null when unknown. */
  total: number | null;
  confidence: QuotaConfidence;
  /** When the window resets (ms), null when unknown. */
  resetAt: number | null;
  windowSeconds: number | null;
  /** Last time the upstream confirmed these numbers. */
  syncedAt: number | null;
}

export interface FailureNote {
  at: number;
  kind: FailureKind;
  message: string;
}

export interface AccountRecord {
  /** Normalised SSO JWT; the primary key. */
  token: string;
  tier: Tier;
  /** "detected" from quota totals, "manual" set by the operator, "imported" from the original's sso/ssoSuper pools. */
  tierSource: "detected" | "manual" | "imported";
  status: AccountStatus;
  /** Human-readable reason for the current status ("" when active). */
  statusReason: string;
  /** When the status last changed. */
  statusAt: number;
  /** For status "cooling": when the account becomes usable again. */
  cooldownUntil: number | null;
  /** grok.com user UUID (needed for the gateway), null until resolved. */
  userId: string | null;
  /** Per quota bucket (mode ids: fast, auto, expert, heavy; media: image_pro, image_edit, video, video_720p). */
  quota: Record<string, QuotaBucket>;
  tags: string[];
  note: string;
  createdAt: number;
  lastUsedAt: number | null;
  /** Most recent failures, newest last, at most 20. */
  failures: FailureNote[];
  useCount: number;
  failCount: number;
}

export const MAX_FAILURE_NOTES = 20;

/** Build a fresh record for a newly added token. */
export function newAccountRecord(token: string, now: number, tier: Tier = "basic", tierSource: AccountRecord["tierSource"] = "detected"): AccountRecord {
  return {
    token,
    tier,
    tierSource,
    status: "active",
    statusReason: "",
    statusAt: now,
    cooldownUntil: null,
    userId: null,
    quota: {},
    tags: [],
    note: "",
    createdAt: now,
    lastUsedAt: null,
    failures: [],
    useCount: 0,
    failCount: 0,
  };
}

/** Injected clock so pool logic is testable without timers. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
