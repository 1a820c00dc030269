/**
 * The original Grok2API's data/token.json, both generations, to and from our records. Pure.
 *  - up to v1.3: `{"ssoNormal": {"<sso>": {createdTime, remainingQueries,
 *    heavyremainingQueries, status: "active"|"expired", failedCount, lastFailureTime,
 *    lastFailureReason, exhaustedAt, heavyExhaustedAt, tags, note}}, "ssoSuper": {…}}`;
 *    older files call the normal pool "sso".
 *  - later versions: `{"ssoBasic": [{token, status, quota, created_at,
 *    last_used_at, use_count, fail_count, last_fail_at, last_fail_reason, tags, note}], "ssoSuper": […]}`.
 */
import { newAccountRecord, type AccountRecord, type AccountStatus, type QuotaBucket, type Tier } from "../core/account.js";
import { normalizeToken as normalizeSsoToken } from "../core/token.js";
import { isPlainObject } from "./records.js";

/** Epoch ms from the original's timestamps: ms or s, number or numeric/ISO string. */
export function legacyTime(v: unknown): number | null {
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "string" && v.trim() !== "") {
    n = Number(v.trim());
    if (!Number.isFinite(n)) {
      const d = Date.parse(v);
      return Number.isFinite(d) ? d : null;
    }
  } else return null;
  if (!Number.isFinite(n) || n <= 0) return null;
  return Math.round(n < 1e11 ? n * 1000 : n); // < 1e11 can only be seconds (year 5138 in ms)
}

function legacyInt(v: unknown): number | null {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? Math.trunc(n) : null;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function estimatedBucket(remaining: number, exhaustedAt: number | null): QuotaBucket {
  return {
    remaining,
    total: null,
    confidence: "estimated",
    // the original retried an exhausted token 24 h after it ran out
    resetAt: remaining === 0 && exhaustedAt !== null ? exhaustedAt + DAY_MS : null,
    windowSeconds: null,
    syncedAt: null,
  };
}

function poolTier(name: string): Tier | null {
  switch (name) {
    case "ssoNormal":
    case "sso":
    case "ssoBasic":
      return "basic";
    case "ssoSuper":
      return "super";
    case "ssoHeavy":
      return "heavy";
    default:
      return null;
  }
}

/** True when the object looks like an original token.json (any known pool key). */
export function isLegacyTokenJson(doc: unknown): doc is Record<string, unknown> {
  return isPlainObject(doc) && ["ssoNormal", "sso", "ssoBasic", "ssoSuper", "ssoHeavy"].some((k) => k in doc);
}

/** One entry of the original's pools → our record. `token` is already normalised. */
function legacyEntryToRecord(token: string, e: Record<string, unknown>, tier: Tier, now: number): AccountRecord {
  const createdAt = legacyTime(e.createdTime ?? e.created_at) ?? now;
  const r = newAccountRecord(token, now, tier, "imported");
  r.createdAt = createdAt;
  r.statusAt = createdAt;
  r.tags = Array.isArray(e.tags) ? e.tags.filter((t): t is string => typeof t === "string" && t.trim() !== "").map((t) => t.trim()) : [];
  r.note = typeof e.note === "string" ? e.note : "";
  r.failCount = Math.max(0, legacyInt(e.failedCount ?? e.fail_count) ?? 0);
  r.useCount = Math.max(0, legacyInt(e.use_count) ?? 0);
  r.lastUsedAt = legacyTime(e.last_used_at);

  const lastFailAt = legacyTime(e.lastFailureTime ?? e.last_fail_at);
  const lastFailReason = typeof (e.lastFailureReason ?? e.last_fail_reason) === "string" ? String(e.lastFailureReason ?? e.last_fail_reason) : "";
  const status = typeof e.status === "string" ? e.status.toLowerCase() : "active";
  let mapped: AccountStatus = "active";
  if (status === "expired") mapped = "dead";
  else if (status === "disabled") mapped = "disabled";
  r.status = mapped;
  if (mapped === "dead") {
    r.statusReason = lastFailReason ? `expired in Grok2API: ${lastFailReason}` : "marked expired in Grok2API";
    r.statusAt = lastFailAt ?? now;
  } else if (mapped === "disabled") {
    r.statusReason = "disabled in Grok2API";
    r.statusAt = now;
  }
  if (lastFailAt !== null) {
    r.failures = [{ at: lastFailAt, kind: mapped === "dead" ? "unauthorized" : "upstream_error", message: lastFailReason || "failure recorded by Grok2API" }];
  }

  // Quota figures. -1 meant "never checked" in the original; ≥ 0 is its last known estimate.
  const remaining = legacyInt(e.remainingQueries ?? e.quota);
  if (remaining !== null && remaining >= 0) r.quota.fast = estimatedBucket(remaining, legacyTime(e.exhaustedAt));
  else if (status === "cooling") r.quota.fast = estimatedBucket(0, null);
  const heavy = legacyInt(e.heavyremainingQueries);
  if (heavy !== null && heavy >= 0) r.quota.heavy = estimatedBucket(heavy, legacyTime(e.heavyExhaustedAt));
  return r;
}

/**
 * Original token.json (either generation) → records. Tokens are normalised; a token found in
 * several pools keeps the highest tier. Order: basic pool first, then super, each in file order.
 */
export function importLegacyTokenJson(doc: unknown, now = Date.now()): AccountRecord[] {
  if (!isPlainObject(doc)) throw new TypeError("token.json must be a JSON object");
  const byToken = new Map<string, AccountRecord>();
  const rank = (t: Tier) => ["basic", "super", "heavy"].indexOf(t);
  for (const [poolName, pool] of Object.entries(doc)) {
    const tier = poolTier(poolName);
    if (!tier || pool === null || pool === undefined) continue;
    const entries: [string, Record<string, unknown>][] = [];
    if (Array.isArray(pool)) {
      for (const item of pool) {
        if (typeof item === "string") entries.push([item, {}]);
        else if (isPlainObject(item) && typeof (item.token ?? item.sso) === "string") entries.push([String(item.token ?? item.sso), item]);
      }
    } else if (isPlainObject(pool)) {
      for (const [tok, e] of Object.entries(pool)) entries.push([tok, isPlainObject(e) ? e : {}]);
    } else {
      throw new TypeError(`token.json: pool "${poolName}" must be an object or a list`);
    }
    for (const [rawToken, e] of entries) {
      const token = normalizeSsoToken(rawToken);
      if (!token) continue;
      const rec = legacyEntryToRecord(token, e, tier, now);
      const prev = byToken.get(token);
      if (!prev || rank(rec.tier) > rank(prev.tier)) byToken.set(token, rec);
    }
  }
  return [...byToken.values()];
}

/** Our records → the original (v1.3) token.json shape, for users going back or sharing files. */
export function exportLegacyTokenJson(accounts: AccountRecord[]): { ssoNormal: Record<string, unknown>; ssoSuper: Record<string, unknown> } {
  const out = { ssoNormal: {} as Record<string, unknown>, ssoSuper: {} as Record<string, unknown> };
  for (const a of accounts) {
    const lastFailure = a.failures.length ? a.failures[a.failures.length - 1] : undefined;
    const fast = a.quota.fast;
    const heavy = a.quota.heavy;
    const pool = a.tier === "basic" ? out.ssoNormal : out.ssoSuper;
    pool[a.token] = {
      createdTime: a.createdAt,
      remainingQueries: fast && fast.remaining !== null ? fast.remaining : -1,
      heavyremainingQueries: heavy && heavy.remaining !== null ? heavy.remaining : -1,
      status: a.status === "dead" ? "expired" : "active",
      failedCount: a.failCount,
      lastFailureTime: lastFailure ? lastFailure.at : null,
      lastFailureReason: lastFailure ? lastFailure.message : a.status === "dead" ? a.statusReason || null : null,
      exhaustedAt: fast && fast.remaining === 0 && fast.resetAt !== null ? fast.resetAt - DAY_MS : null,
      heavyExhaustedAt: heavy && heavy.remaining === 0 && heavy.resetAt !== null ? heavy.resetAt - DAY_MS : null,
      tags: [...a.tags],
      note: a.note,
    };
  }
  return out;
}
