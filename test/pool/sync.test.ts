import { describe, expect, it } from "vitest";
import type { QuotaReading, QuotaSource } from "../../src/server/pool/api.js";
import type { AccountRecord, FailureKind } from "../../src/server/core/account.js";
import { account, bucket, reading, setup, T0 } from "./helpers.js";

function kindError(kind: FailureKind, message: string): Error & { kind: FailureKind } {
  return Object.assign(new Error(message), { kind });
}

class FakeSource implements QuotaSource {
  readonly calls: { token: string; what: "chat" | "media"; modes?: string[] }[] = [];
  chat: QuotaReading[] = [reading("fast", 30, 30), reading("auto", 7, 7)];
  media: QuotaReading[] = [reading("image_pro", 2, 10)];
  chatError: Error | null = null;
  mediaError: Error | null = null;
  onCall: (() => void) | null = null;

  async chatQuota(acc: AccountRecord, modes: string[]): Promise<QuotaReading[]> {
    this.calls.push({ token: acc.token, what: "chat", modes });
    this.onCall?.();
    if (this.chatError) throw this.chatError;
    return this.chat.filter((r) => modes.includes(r.mode));
  }

  async mediaQuota(acc: AccountRecord): Promise<QuotaReading[]> {
    this.calls.push({ token: acc.token, what: "media" });
    if (this.mediaError) throw this.mediaError;
    return this.media;
  }

  tokens(): string[] {
    return [...new Set(this.calls.map((c) => c.token))].sort();
  }
}

const synced = (extra: Partial<AccountRecord> = {}) => ({ quota: { fast: bucket(30, 30, { syncedAt: T0 }) }, ...extra });

describe("syncOne (operator test)", () => {
  it("reads chat and media quota, stores it as confirmed and detects the tier", async () => {
    const source = new FakeSource();
    source.chat = [reading("fast", 100, 140), reading("auto", 50, 50)];
    const { pool, store } = await setup([account("a", { tierSource: "detected" })], { quotaSource: source });
    await pool.syncOne("a");
    expect(source.calls).toEqual([
      { token: "a", what: "chat", modes: ["fast", "auto", "expert", "heavy"] },
      { token: "a", what: "media" },
    ]);
    const r = store.raw("a");
    expect(r.tier).toBe("super");
    expect(r.quota["fast"]).toEqual({ remaining: 100, total: 140, confidence: "confirmed", resetAt: T0 + 86_400_000, windowSeconds: 86_400, syncedAt: T0 });
    expect(r.quota["auto"]).toMatchObject({ remaining: 50, resetAt: null }); // full: no reset needed
    expect(r.quota["image_pro"]).toMatchObject({ remaining: 2, total: 10, confidence: "confirmed" });
  });

  it("takes the reset time upstream reports (nextAvailableAt) as is", async () => {
    const source = new FakeSource();
    source.media = [reading("video_720p", 0, 1, { resetAt: T0 + 999 })];
    const { pool, store } = await setup([account("a")], { quotaSource: source });
    await pool.syncOne("a");
    expect(store.raw("a").quota["video_720p"]).toMatchObject({ remaining: 0, resetAt: T0 + 999 });
    expect(pool.nextResetAt("video_720p")).toBe(T0 + 999);
  });

  it("never pushes a known earlier reset further out", async () => {
    const source = new FakeSource();
    source.chat = [reading("fast", 0, 30)];
    const { pool, store, clock } = await setup([account("a", { quota: { fast: bucket(0, 30, { resetAt: T0 + 60_000 }) } })], { quotaSource: source });
    clock.advance(10_000);
    await pool.syncOne("a");
    expect(store.raw("a").quota["fast"]!.resetAt).toBe(T0 + 60_000);
  });

  it("revives a dead or cooling account when the test succeeds, keeping its failure notes", async () => {
    const source = new FakeSource();
    const dead = account("d", { status: "dead", statusReason: "banned", failures: [{ at: 1, kind: "banned", message: "x" }] });
    const cool = account("c", { status: "cooling", statusReason: "timeout", cooldownUntil: T0 + 60_000 });
    const { pool, store } = await setup([dead, cool], { quotaSource: source });
    await pool.syncOne("d");
    await pool.syncOne("c");
    expect(store.raw("d")).toMatchObject({ status: "active", statusReason: "", failures: [{ kind: "banned" }] });
    expect(store.raw("c")).toMatchObject({ status: "active", cooldownUntil: null });
  });

  for (const [kind, reason] of [["unauthorized", /^logged out/], ["banned", /^banned: /]] as const) {
    it(`marks the account dead on ${kind} and rethrows`, async () => {
      const source = new FakeSource();
      source.chatError = kindError(kind, "nope");
      const { pool, store } = await setup([account("a")], { quotaSource: source });
      await expect(pool.syncOne("a")).rejects.toThrow("nope");
      expect(store.raw("a").status).toBe("dead");
      expect(store.raw("a").statusReason).toMatch(reason);
    });
  }

  it("leaves the account alone on network / anti-bot / unclassified errors, and rethrows", async () => {
    const source = new FakeSource();
    const { pool, store } = await setup([account("a")], { quotaSource: source });
    for (const err of [kindError("network", "ECONNRESET"), kindError("anti_bot", "code 7"), new Error("weird")]) {
      source.chatError = err;
      await expect(pool.syncOne("a")).rejects.toBe(err);
    }
    expect(store.raw("a")).toMatchObject({ status: "active", failures: [] });
  });

  it("keeps the chat readings when only the media quota fails; a dead signal from media still counts", async () => {
    const source = new FakeSource();
    source.mediaError = kindError("upstream_error", "502");
    const { pool, store, logs } = await setup([account("a"), account("b")], { quotaSource: source });
    await pool.syncOne("a");
    expect(store.raw("a").quota["fast"]).toMatchObject({ confidence: "confirmed" });
    expect(logs.some((l) => l.level === "warn" && l.msg.includes("media quota"))).toBe(true);
    source.mediaError = kindError("banned", "User is blocked");
    await expect(pool.syncOne("b")).rejects.toThrow("User is blocked");
    expect(store.raw("b").status).toBe("dead");
  });

  it("throws without a quota source, and for an unknown account", async () => {
    const { pool } = await setup([account("a")]);
    await expect(pool.syncOne("a")).rejects.toThrow(/no quota source/);
    await expect(pool.syncOne("zzz")).rejects.toThrow(/unknown account/);
  });
});

describe("sync scheduler", () => {
  it("syncs never-synced accounts at once, then per tier interval; skips dead and disabled", async () => {
    const source = new FakeSource();
    const { pool, clock } = await setup([
      account("basic", {}, "basic"),
      account("super", {}, "super"),
      account("heavy", {}, "heavy"),
      account("dead", { status: "dead" }),
      account("off", { status: "disabled" }),
    ], { quotaSource: source, syncConcurrency: 10 });
    await pool.syncTick();
    expect(source.tokens()).toEqual(["basic", "heavy", "super"]);
    source.calls.length = 0;
    await pool.syncTick();
    expect(source.calls).toEqual([]);
    clock.advance(10 * 60_000);
    await pool.syncTick();
    expect(source.tokens()).toEqual(["heavy"]);
    source.calls.length = 0;
    clock.advance(5 * 60_000);
    await pool.syncTick();
    expect(source.tokens()).toEqual(["super"]);
    source.calls.length = 0;
    clock.advance(15 * 60_000);
    await pool.syncTick();
    expect(source.tokens()).toEqual(["basic", "heavy", "super"]);
  });

  it("schedules from the last sync stored in the record, and honours configured intervals (0 = never)", async () => {
    const source = new FakeSource();
    const { pool, clock } = await setup([
      account("a", { quota: { fast: bucket(30, 30, { syncedAt: T0 - 60_000 }) } }, "basic"),
      account("s", {}, "super"),
    ], { quotaSource: source, syncIntervalMs: { basic: 120_000, super: 0 } });
    await pool.syncTick();
    expect(source.calls).toEqual([]);
    clock.advance(60_000);
    await pool.syncTick();
    expect(source.tokens()).toEqual(["a"]);
  });

  it("limits concurrent syncs and goes round-robin", async () => {
    const source = new FakeSource();
    const tokens = ["a", "b", "c", "d", "e"];
    const { pool } = await setup(tokens.map((t) => account(t)), { quotaSource: source, syncConcurrency: 2 });
    let running = 0;
    let maxRunning = 0;
    source.onCall = () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      queueMicrotask(() => running--);
    };
    await pool.syncTick();
    expect(source.tokens()).toHaveLength(2);
    await pool.syncTick();
    expect(source.tokens()).toHaveLength(4);
    await pool.syncTick();
    expect(source.tokens()).toEqual(tokens);
    expect(maxRunning).toBeLessThanOrEqual(2);
  });

  it("syncs only the used bucket a few seconds after a lease ended", async () => {
    const source = new FakeSource();
    const { pool, clock } = await setup([account("a", synced())], { quotaSource: source });
    const l = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    await l.succeed();
    clock.advance(4_999);
    await pool.syncTick();
    expect(source.calls).toEqual([]);
    clock.advance(1);
    await pool.syncTick();
    expect(source.calls).toEqual([{ token: "a", what: "chat", modes: ["fast"] }]);
    expect(pool.get("a")!.quota["fast"]).toMatchObject({ remaining: 30, confidence: "confirmed", syncedAt: T0 + 5_000 });
    source.calls.length = 0;
    await pool.syncTick();
    expect(source.calls).toEqual([]);

    const img = await pool.lease({ bucket: "image_pro", cost: 1, minTier: "basic" });
    await img.release();
    clock.advance(5_000);
    await pool.syncTick();
    expect(source.calls).toEqual([{ token: "a", what: "media" }]);
  });

  it("a scheduled sync applies quota but does not lift a cooldown; a dead signal kills", async () => {
    const source = new FakeSource();
    const { pool, store, clock } = await setup([account("a", synced()), account("b", synced())], { quotaSource: source });
    const la = await pool.lease({ bucket: "", cost: 1, minTier: "basic", exclude: new Set(["b"]) });
    await la.fail("rate_limited", "Too many requests");
    const lb = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    expect(lb.token).toBe("b");
    await lb.succeed();
    source.chatError = null;
    clock.advance(5_000);
    const failing = source.chatQuota.bind(source);
    source.chatQuota = async (acc, modes) => {
      if (acc.token === "b") throw kindError("unauthorized", "401");
      return failing(acc, modes);
    };
    await pool.syncTick();
    expect(store.raw("a")).toMatchObject({ status: "cooling" });
    expect(store.raw("a").quota["fast"]!.syncedAt).toBe(T0 + 5_000);
    expect(store.raw("b").status).toBe("dead");
  });

  it("persists local estimates of accounts that had no other write", async () => {
    const { pool, store, clock } = await setup([account("a", synced())], { estimateFlushMs: 30_000 });
    await pool.syncTick();
    const l = await pool.lease({ bucket: "fast", cost: 2, minTier: "basic" });
    await l.succeed();
    await pool.syncTick();
    expect(store.raw("a").quota["fast"]!.remaining).toBe(30);
    clock.advance(30_000);
    await pool.syncTick();
    expect(store.raw("a").quota["fast"]).toMatchObject({ remaining: 28, confidence: "estimated" });
  });

  it("startSync() runs the ticks on a timer until stopSync()", async () => {
    const source = new FakeSource();
    const { pool } = await setup([account("a")], { quotaSource: source, syncTickMs: 5 });
    const called = new Promise<void>((resolve) => (source.onCall = resolve));
    pool.startSync();
    pool.startSync(); // idempotent
    await called;
    pool.stopSync();
    pool.stopSync();
    await pool.whenIdle();
    expect(source.tokens()).toEqual(["a"]);
  });
});
