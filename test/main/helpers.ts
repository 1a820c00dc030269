import { newAccountRecord, type QuotaBucket } from "../../src/server/core/account.js";
import type { AccountView } from "../../src/server/pool/api.js";

export const NOW = new Date(2026, 5, 15, 12, 0, 0).getTime();

/** A pool view of one account (active and usable unless told otherwise). */
export function view(token: string, over: Partial<AccountView> = {}): AccountView {
  const rec = newAccountRecord(token, NOW - 86_400_000);
  const status = over.status ?? "active";
  return { ...rec, inFlight: 0, effectiveStatus: over.effectiveStatus ?? status, usable: over.usable ?? status === "active", ...over };
}

export function bucket(remaining: number | null, total: number | null, confidence: QuotaBucket["confidence"] = "confirmed", resetAt: number | null = null): QuotaBucket {
  return { remaining, total, confidence, resetAt, windowSeconds: 7200, syncedAt: NOW - 60_000 };
}

/** A JWT-shaped fake sso cookie. */
export function fakeSso(n: number): string {
  const part = (s: string) => Buffer.from(s).toString("base64url");
  return `${part('{"alg":"HS256"}')}.${part(`{"session_id":"session-${n}-${"x".repeat(12)}"}`)}.${part(`signature-${n}-abcdefgh`)}`;
}
