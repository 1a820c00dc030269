/**
 * Tiers: ordering, detection from quota totals (grok-protocol.md §10.4), the original's pool names,
 * and which quota modes to sync per tier.
 */
import type { AccountRecord, QuotaBucket, Tier } from "../core/account.js";

export const TIER_RANK: Readonly<Record<Tier, number>> = { basic: 0, super: 1, heavy: 2 };

export function isTier(v: unknown): v is Tier {
  return v === "basic" || v === "super" || v === "heavy";
}

/** The original grok2api kept two pools: "sso" (Basic) and "ssoSuper" (SuperGrok). */
export function tierFromLegacyPool(pool: "sso" | "ssoSuper"): Tier {
  return pool === "ssoSuper" ? "super" : "basic";
}

/** Chat quota modes (POST /rest/rate-limits). */
export const CHAT_MODES: readonly string[] = ["fast", "auto", "expert", "heavy"];
/** Imagine quota buckets (POST /rest/media/imagine/quota_info). */
export const MEDIA_BUCKETS: readonly string[] = ["image_pro", "image_edit", "video", "video_720p"];

/** Modes to ask /rest/rate-limits for: all of them while the tier is still being detected. */
export function chatModesFor(rec: Pick<AccountRecord, "tier" | "tierSource">): string[] {
  if (rec.tierSource === "detected") return [...CHAT_MODES];
  if (rec.tier === "heavy") return [...CHAT_MODES];
  if (rec.tier === "super") return ["fast", "auto", "expert"];
  return ["fast", "auto"];
}

function fromAuto(total: number): Tier {
  if (total >= 150) return "heavy";
  if (total >= 50) return "super";
  return "basic"; // 7, older 20
}

function fromFast(total: number): Tier {
  if (total >= 400) return "heavy";
  if (total >= 140) return "super";
  return "basic"; // 30
}

/**
 * §10.4: auto total 7/20 → basic, 50 → super, 150 → heavy; fast total 30 → basic, 140 → super,
 * 400 → heavy; heavy total > 0 → heavy. Totals between the published figures fall to the lower
 * tier. Conflicting signals → the lower tier. No signal → null (keep the current tier).
 */
export function detectTier(quota: Readonly<Record<string, Pick<QuotaBucket, "total">>>): Tier | null {
  const signals: Tier[] = [];
  const auto = quota["auto"]?.total;
  const fast = quota["fast"]?.total;
  const heavy = quota["heavy"]?.total;
  if (typeof auto === "number" && auto > 0) signals.push(fromAuto(auto));
  if (typeof fast === "number" && fast > 0) signals.push(fromFast(fast));
  if (typeof heavy === "number" && heavy > 0) signals.push("heavy");
  if (signals.length === 0) return null;
  let lowest: Tier = signals[0]!;
  for (const t of signals) if (TIER_RANK[t] < TIER_RANK[lowest]) lowest = t;
  return lowest;
}
