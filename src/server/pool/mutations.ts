/** Mutations for operator actions (update, markHealthy) and the helpers they share. */
import type { QuotaReading } from "./api.js";
import { applyReadingsMutation, type Mutation } from "./record-state.js";
import { detectTier } from "./tiers.js";
import type { AccountRecord, Tier } from "../core/account.js";

export interface AccountPatch {
  tags?: string[];
  note?: string;
  tier?: Tier | "auto";
  disabled?: boolean;
}

export interface AddOptions {
  tier?: Tier;
  tierSource?: AccountRecord["tierSource"];
  tags?: string[];
}

export function cleanTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter((t) => t !== ""))];
}

/** Operator test / sync succeeded: readings applied, dead/cooling → active (failure notes kept). */
export function healthyMutation(readings: readonly QuotaReading[]): Mutation {
  const apply = applyReadingsMutation(readings);
  return (rec, now) => {
    let out = apply(rec, now) ?? rec;
    if (out.status === "dead" || out.status === "cooling") {
      out = { ...out, status: "active", statusReason: "", statusAt: now, cooldownUntil: null };
    }
    return out === rec ? null : out;
  };
}

export function patchMutation(patch: AccountPatch): Mutation {
  return (rec, now) => {
    let out = rec;
    if (patch.tags !== undefined) out = { ...out, tags: cleanTags(patch.tags) };
    if (patch.note !== undefined) out = { ...out, note: patch.note };
    if (patch.tier === "auto") out = { ...out, tierSource: "detected", tier: detectTier(out.quota) ?? out.tier };
    else if (patch.tier !== undefined) out = { ...out, tier: patch.tier, tierSource: "manual" };
    if (patch.disabled === true && out.status !== "disabled") {
      out = { ...out, status: "disabled", statusReason: "disabled by the operator", statusAt: now, cooldownUntil: null };
    } else if (patch.disabled === false && out.status === "disabled") {
      out = { ...out, status: "active", statusReason: "", statusAt: now, cooldownUntil: null };
    }
    return out === rec ? null : out;
  };
}
