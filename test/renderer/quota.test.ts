// @vitest-environment happy-dom
import { createElement } from "react";
import { afterEach, describe, expect, it } from "vitest";
import type { QuotaBucketInfo, TokenInfo } from "../../src/shared/admin-api";
import { PoolQuotaBar, QuotaBar } from "../../src/renderer/components/QuotaBar";
import { poolQuota, poolShares, quotaBar } from "../../src/renderer/lib/quota";
import { render } from "./render";

const bucket = (p: Partial<QuotaBucketInfo>): QuotaBucketInfo => ({ remaining: 10, total: 40, confidence: "confirmed", resetAt: null, windowSeconds: 7200, syncedAt: 1, ...p });

describe("quotaBar", () => {
  it("turns a bucket into a share, a tone and its confidence", () => {
    expect(quotaBar(bucket({}))).toMatchObject({ percent: 25, tone: "ok", confidence: "confirmed" });
    expect(quotaBar(bucket({ remaining: 5 }))).toMatchObject({ percent: 12.5, tone: "low" });
    expect(quotaBar(bucket({ remaining: 0 }))).toMatchObject({ percent: 0, tone: "empty" });
    expect(quotaBar(bucket({ remaining: 55 }))).toMatchObject({ remaining: 40, percent: 100 }); // clamped
    expect(quotaBar(bucket({ remaining: -3 }))).toMatchObject({ remaining: 0, percent: 0, tone: "empty" });
  });
  it("has no share when grok.com told nothing", () => {
    expect(quotaBar(undefined)).toMatchObject({ percent: null, tone: "unknown" });
    expect(quotaBar(bucket({ total: null }))).toMatchObject({ percent: null, tone: "unknown" });
    expect(quotaBar(bucket({ confidence: "unknown" }))).toMatchObject({ percent: null, tone: "unknown" });
    expect(quotaBar(bucket({ total: 0 }))).toMatchObject({ percent: null });
  });
});

describe("poolQuota", () => {
  const acc = (state: TokenInfo["state"], quota: Record<string, QuotaBucketInfo>) => ({ state, quota }) as TokenInfo;
  it("sums confirmed and estimated figures apart, skips dead and disabled accounts, orders buckets", () => {
    const p = poolQuota([
      acc("active", { fast: bucket({ remaining: 10, total: 30 }), heavy: bucket({ remaining: 1, total: 2, confidence: "estimated" }) }),
      acc("cooling", { fast: bucket({ remaining: 0, total: 30, confidence: "estimated", resetAt: 5000 }) }),
      acc("active", { fast: bucket({ confidence: "unknown", remaining: null, total: null }), auto: bucket({ remaining: 3, total: 5 }) }),
      acc("dead", { fast: bucket({ remaining: 30, total: 30 }) }),
      acc("disabled", { fast: bucket({ remaining: 30, total: 30 }) }),
    ]);
    expect(p.map((b) => b.bucket)).toEqual(["fast", "auto", "heavy"]);
    expect(p[0]).toEqual({ bucket: "fast", accounts: 3, confirmed: { remaining: 10, total: 30 }, estimated: { remaining: 0, total: 30 }, unknown: 1, nextResetAt: 5000 });
    expect(poolShares(p[0]!)).toEqual({ confirmed: (10 / 60) * 100, estimated: 0, total: 60, remaining: 10 });
  });
});

describe("<QuotaBar>", () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  it("shows a confirmed bucket solid, with its share as the fill width and meter values", () => {
    const r = render(createElement(QuotaBar, { bucket: bucket({ remaining: 12, total: 30 }) }));
    cleanup = r.unmount;
    const q = r.container.querySelector(".quota")!;
    expect(q.className).toContain("quota-confirmed");
    expect(q.textContent).toBe("12 of 30 left");
    expect(q.getAttribute("title")).toBe("confirmed by grok.com");
    const meter = r.container.querySelector('[role="meter"]')!;
    expect([meter.getAttribute("aria-valuenow"), meter.getAttribute("aria-valuemax")]).toEqual(["12", "30"]);
    expect((r.container.querySelector(".bar-fill") as HTMLElement).style.width).toBe("40%");
  });

  it("marks an estimate with ≈ and its own class, and says so in Chinese too", () => {
    const r = render(createElement(QuotaBar, { bucket: bucket({ remaining: 3, total: 30, confidence: "estimated" }) }), "zh");
    cleanup = r.unmount;
    const q = r.container.querySelector(".quota")!;
    expect(q.className).toContain("quota-estimated");
    expect(q.className).toContain("quota-low");
    expect(q.textContent).toBe("约剩 3 / 30");
    expect(q.getAttribute("title")).toBe("估算值");
  });

  it("draws no bar for an unknown bucket", () => {
    const r = render(createElement(QuotaBar, { bucket: undefined }));
    cleanup = r.unmount;
    expect(r.container.querySelector('[role="meter"]')).toBeNull();
    expect(r.container.textContent).toBe("quota not known yet");
  });

  it("the pool bar puts the confirmed and the estimated part side by side", () => {
    const [p] = poolQuota([
      { state: "active", quota: { fast: bucket({ remaining: 30, total: 30 }) } } as unknown as TokenInfo,
      { state: "active", quota: { fast: bucket({ remaining: 15, total: 30, confidence: "estimated" }) } } as unknown as TokenInfo,
    ]);
    const r = render(createElement(PoolQuotaBar, { p: p! }));
    cleanup = r.unmount;
    const fills = [...r.container.querySelectorAll(".bar-fill")] as HTMLElement[];
    expect(fills.map((f) => [f.className, f.style.width])).toEqual([
      ["bar-fill quota-confirmed", "50%"],
      ["bar-fill quota-estimated", "25%"],
    ]);
    expect(r.container.textContent).toContain("≈ 45 of 60 left");
    expect(r.container.textContent).toContain("2 accounts");
  });
});
