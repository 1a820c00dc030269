import type { FailureKind } from "./failure.js";

export type { FailureKind };

/**
 * Account model shared by the pool (src/server/pool), the stores (src/server/store) and the admin API.
 * Times are Unix epoch milliseconds. A record is plain JSON so every backend can store it as-is.
 */

/** Subscription tier. Order matters: basic < super < heavy. */
export type Tier = "basic" | "super" | "heavy";
export const TIER_ORDER: readonly Tier[] = ["basic", "super", "heavy"];

/** active: usable; cooling: rate-limited until cooldownUntil; dead: credentials bad or banned; disabled: by the operator. */
export type AccountStatus = "active" | "cooling" | "dead" | "disabled";

/** How far a quota figure can be trusted. */
export type QuotaConfidence = "confirmed" | "estimated" | "unknown";

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
