/** Reading quota from upstream through the injected QuotaSource, and classifying its errors. */
import type { QuotaReading, QuotaSource } from "./api.js";
import { isFailureKind } from "./reactions.js";
import { CHAT_MODES, MEDIA_BUCKETS, chatModesFor } from "./tiers.js";
import type { AccountRecord, FailureKind } from "../core/account.js";

/** The `kind` property of an error thrown by the grok client; anything else counts as a network error. */
export function failureKindOf(err: unknown): FailureKind {
  const kind = typeof err === "object" && err !== null ? (err as { kind?: unknown }).kind : undefined;
  return isFailureKind(kind) ? kind : "network";
}

export function isDeadKind(kind: FailureKind): boolean {
  return kind === "unauthorized" || kind === "banned";
}

function isValidReading(r: QuotaReading): boolean {
  return (
    typeof r.mode === "string" && r.mode !== "" &&
    Number.isFinite(r.remaining) && Number.isFinite(r.total) &&
    (r.windowSeconds === null || Number.isFinite(r.windowSeconds)) &&
    (r.resetAt === null || Number.isFinite(r.resetAt))
  );
}

/**
 * Reads the given buckets (null = every chat mode the account may have, plus media). A media
 * failure after good chat readings is only logged, unless it says the account is dead.
 */
export async function fetchReadings(
  source: QuotaSource,
  rec: AccountRecord,
  buckets: readonly string[] | null,
  warn: (msg: string, err: unknown) => void,
): Promise<QuotaReading[]> {
  const full = buckets === null || buckets.some((b) => !CHAT_MODES.includes(b) && !MEDIA_BUCKETS.includes(b));
  const chat = full ? chatModesFor(rec) : buckets.filter((b) => CHAT_MODES.includes(b));
  const media = full || buckets.some((b) => MEDIA_BUCKETS.includes(b));
  const out: QuotaReading[] = [];
  if (chat.length > 0) out.push(...(await source.chatQuota(rec, chat)));
  if (media) {
    try {
      out.push(...(await source.mediaQuota(rec)));
    } catch (err) {
      if (chat.length === 0 || isDeadKind(failureKindOf(err))) throw err;
      warn("media quota read failed; chat quota applied", err);
    }
  }
  return out.filter(isValidReading);
}
