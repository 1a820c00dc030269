import type { QuotaReading } from "../core/quota.js";
import { classifyHttp, failure } from "./classify.js";
import { type GrokAccountRef, type GrokContext, send } from "./context.js";
import { restHeaders } from "./identity.js";
import { UpstreamError } from "./upstream-error.js";

/** A statsig-signed JSON POST; an anti-bot answer invalidates the path's statsig value. */
async function postJson(ctx: GrokContext, path: string, acc: GrokAccountRef, body: unknown, referer: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const statsig = await ctx.statsig.get("POST", path, acc.token, signal);
  const res = await send(ctx, path, {
    method: "POST",
    headers: restHeaders(ctx.identity(), acc.token, { statsig, referer }),
    body: JSON.stringify(body),
    signal,
  });
  const text = await res.text();
  if (res.status !== 200) {
    const f = classifyHttp(res.status, text, res.headers);
    if (f.kind === "anti_bot") ctx.statsig.invalidate("POST", path);
    throw new UpstreamError(f);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new UpstreamError(failure("upstream_error", `${path} returned no JSON`));
  }
}

/** `POST /rest/rate-limits` per mode (grok-protocol.md §10.1); modes the account cannot use are left out. */
export async function chatQuota(ctx: GrokContext, acc: GrokAccountRef, modes: string[], signal?: AbortSignal): Promise<QuotaReading[]> {
  const out: QuotaReading[] = [];
  for (const mode of modes) {
    const r = await postJson(ctx, "/rest/rate-limits", acc, { modelName: mode }, `${ctx.origin}/`, signal);
    let total = typeof r.totalQueries === "number" ? r.totalQueries : 0;
    let remaining = typeof r.remainingQueries === "number" ? r.remainingQueries : 0;
    if (!total && typeof r.totalTokens === "number" && r.totalTokens > 0) {
      // legacy token-budget variant
      total = r.totalTokens;
      remaining = typeof r.remainingTokens === "number" ? r.remainingTokens : 0;
    }
    if (!(total > 0)) continue; // unusable answer: mode not available to this account
    const window = typeof r.windowSizeSeconds === "number" ? r.windowSizeSeconds : 7200;
    const wait = typeof r.waitTimeSeconds === "number" && r.waitTimeSeconds > 0 ? r.waitTimeSeconds : null;
    out.push({ mode, remaining, total, windowSeconds: window, resetAt: remaining <= 0 ? Date.now() + (wait ?? window) * 1000 : null });
  }
  return out;
}

/** `POST /rest/media/imagine/quota_info` (grok-protocol.md §10.2). */
export async function mediaQuota(ctx: GrokContext, acc: GrokAccountRef, signal?: AbortSignal): Promise<QuotaReading[]> {
  const r = await postJson(ctx, "/rest/media/imagine/quota_info", acc, {}, `${ctx.origin}/imagine`, signal);
  const map: Record<string, string> = { imagePro: "image_pro", imageEdit: "image_edit", video: "video", video720p: "video_720p" };
  const out: QuotaReading[] = [];
  for (const [key, mode] of Object.entries(map)) {
    const q = r[key] as Record<string, unknown> | null | undefined;
    if (!q || q.available !== true || typeof q.remainingQueries !== "number") continue;
    const next = typeof q.nextAvailableAt === "string" ? Date.parse(q.nextAvailableAt) : NaN;
    out.push({
      mode,
      remaining: q.remainingQueries,
      total: Math.max(q.remainingQueries, 0),
      windowSeconds: typeof q.windowSizeSeconds === "number" ? q.windowSizeSeconds : null,
      resetAt: Number.isFinite(next) ? next : null,
    });
  }
  return out;
}
