/**
 * Helpers shared by every backend: record validation/normalisation, token hashing and the
 * additive usage merge. Pure functions, no I/O.
 */
import { createHash } from "node:crypto";
import {
  MAX_FAILURE_NOTES,
  newAccountRecord,
  type AccountRecord,
  type AccountStatus,
  type FailureKind,
  type FailureNote,
  type QuotaBucket,
  type QuotaConfidence,
  type Tier,
} from "../core/account.js";
import type { StoredSettings, UsageDelta } from "./types.js";

export const TIERS: readonly Tier[] = ["basic", "super", "heavy"];
export const STATUSES: readonly AccountStatus[] = ["active", "cooling", "dead", "disabled"];
const TIER_SOURCES: readonly AccountRecord["tierSource"][] = ["detected", "manual", "imported"];
const CONFIDENCES: readonly QuotaConfidence[] = ["confirmed", "estimated", "unknown"];
const FAILURE_KINDS: readonly FailureKind[] = [
  "rate_limited",
  "unauthorized",
  "banned",
  "anti_bot",
  "cloudflare",
  "network",
  "upstream_error",
  "timeout",
  "empty",
  "request",
];

/** sha256 hex of a token: the fixed-size key used for MySQL rows and Redis slot keys. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function finiteOr<T>(v: unknown, fallback: T): number | T {
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], fallback: T): T {
  return typeof v === "string" && (allowed as readonly string[]).includes(v) ? (v as T) : fallback;
}

function normalizeBucket(v: unknown): QuotaBucket | null {
  if (!isPlainObject(v)) return null;
  return {
    remaining: finiteOr(v.remaining, null),
    total: finiteOr(v.total, null),
    confidence: oneOf(v.confidence, CONFIDENCES, "unknown"),
    resetAt: finiteOr(v.resetAt, null),
    windowSeconds: finiteOr(v.windowSeconds, null),
    syncedAt: finiteOr(v.syncedAt, null),
  };
}

function normalizeFailure(v: unknown): FailureNote | null {
  if (!isPlainObject(v)) return null;
  const at = finiteOr(v.at, null);
  if (at === null) return null;
  return { at, kind: oneOf(v.kind, FAILURE_KINDS, "upstream_error"), message: typeof v.message === "string" ? v.message : "" };
}

/**
 * Turns loosely-typed JSON (a hand-edited file, an import) into a complete AccountRecord:
 * missing or ill-typed known fields get the defaults of newAccountRecord(); fields this version
 * does not know are kept as they are (forward compatibility: a newer app or a newer
 * AccountRecord may have added them). Returns null when there is no usable token. The token is
 * taken as-is (callers normalise SSO cookies first).
 */
export function normalizeRecord(raw: unknown, now = Date.now()): AccountRecord | null {
  if (!isPlainObject(raw)) return null;
  const token = typeof raw.token === "string" ? raw.token.trim() : "";
  if (!token) return null;
  const base = newAccountRecord(token, now);
  const quota: Record<string, QuotaBucket> = {};
  if (isPlainObject(raw.quota)) {
    for (const [k, b] of Object.entries(raw.quota)) {
      const nb = normalizeBucket(b);
      if (nb) quota[k] = nb;
    }
  }
  const failures = Array.isArray(raw.failures)
    ? raw.failures.map(normalizeFailure).filter((f): f is FailureNote => f !== null).slice(-MAX_FAILURE_NOTES)
    : [];
  return {
    ...raw,
    token,
    tier: oneOf(raw.tier, TIERS, base.tier),
    tierSource: oneOf(raw.tierSource, TIER_SOURCES, base.tierSource),
    status: oneOf(raw.status, STATUSES, base.status),
    statusReason: typeof raw.statusReason === "string" ? raw.statusReason : "",
    statusAt: finiteOr(raw.statusAt, base.statusAt),
    cooldownUntil: finiteOr(raw.cooldownUntil, null),
    userId: typeof raw.userId === "string" && raw.userId ? raw.userId : null,
    quota,
    tags: Array.isArray(raw.tags) ? raw.tags.filter((t): t is string => typeof t === "string") : [],
    note: typeof raw.note === "string" ? raw.note : "",
    createdAt: finiteOr(raw.createdAt, base.createdAt),
    lastUsedAt: finiteOr(raw.lastUsedAt, null),
    failures,
    useCount: Math.max(0, Math.trunc(finiteOr(raw.useCount, 0))),
    failCount: Math.max(0, Math.trunc(finiteOr(raw.failCount, 0))),
  };
}

/** Minimal check used on every write path: a record must at least be an object with a non-empty string token. */
export function assertRecord(r: unknown, where: string): asserts r is AccountRecord {
  if (!isPlainObject(r) || typeof r.token !== "string" || r.token.length === 0) {
    throw new TypeError(`${where}: an account record needs a non-empty string "token"`);
  }
}

/** Settings must be an object of objects (sections). */
export function assertSettings(s: unknown, where: string): asserts s is StoredSettings {
  if (!isPlainObject(s)) throw new TypeError(`${where}: settings must be an object of sections`);
  for (const [k, v] of Object.entries(s)) {
    if (!isPlainObject(v)) throw new TypeError(`${where}: settings section "${k}" must be an object`);
  }
}

/** Stored settings JSON text → settings; anything but an object reads as no settings. Throws on invalid JSON. */
export function parseStoredSettings(text: string): StoredSettings {
  const parsed = JSON.parse(text) as unknown;
  return isPlainObject(parsed) ? (parsed as StoredSettings) : {};
}

/** Accumulated usage for one token (what the batcher hands to a backend). */
export interface UsageTotals {
  uses: number;
  failures: number;
  lastUsedAt: number | null;
}

/** Adds usage to a record: counters are added, lastUsedAt only moves forward. Returns a new object. */
export function applyUsage(rec: AccountRecord, u: UsageTotals): AccountRecord {
  const lastUsedAt =
    u.lastUsedAt === null ? rec.lastUsedAt : rec.lastUsedAt === null ? u.lastUsedAt : Math.max(rec.lastUsedAt, u.lastUsedAt);
  return {
    ...rec,
    useCount: (rec.useCount ?? 0) + u.uses,
    failCount: (rec.failCount ?? 0) + u.failures,
    lastUsedAt,
  };
}

export function validateUsageDelta(d: UsageDelta): void {
  if (!d || typeof d.token !== "string" || !d.token) throw new TypeError("recordUsage: token is required");
  for (const k of ["uses", "failures", "lastUsedAt"] as const) {
    const v = d[k];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v))) throw new TypeError(`recordUsage: ${k} must be a finite number`);
  }
}

/** Deep copy of JSON data (records, settings) so callers never share objects with a store's cache. */
export function cloneJson<T>(v: T): T {
  return structuredClone(v);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Checks the result of an updateAccount callback. */
export function checkUpdated(token: string, next: unknown): AccountRecord | null {
  if (next === null) return null;
  assertRecord(next, "updateAccount");
  if (next.token !== token) throw new Error("updateAccount: the update function must not change the token");
  return next;
}
