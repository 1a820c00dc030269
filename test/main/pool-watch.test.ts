import { describe, expect, it, vi } from "vitest";
import { PoolWatcher, RequestsToday, diffPool, localDay, samplePool } from "../../src/main/pool-watch.js";
import type { Timers } from "../../src/main/timers.js";
import { Throttle } from "../../src/main/timers.js";
import type { AccountView } from "../../src/server/pool/api.js";
import { NOW, view } from "./helpers.js";

function manualTimers(start = NOW) {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void; every: number | null }>();
  const t: Timers & { advance(ms: number): void } = {
    now: () => now,
    setTimeout: (fn, ms) => (timers.set(++seq, { at: now + ms, fn, every: null }), seq),
    clearTimeout: (h) => void timers.delete(h as number),
    setInterval: (fn, ms) => (timers.set(++seq, { at: now + ms, fn, every: ms }), seq),
    clearInterval: (h) => void timers.delete(h as number),
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const next = [...timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!next) break;
        const [id, x] = next;
        now = x.at;
        if (x.every) x.at += x.every;
        else timers.delete(id);
        x.fn();
      }
      now = end;
    },
  };
  return t;
}

const events = (prev: AccountView[] | null, next: AccountView[], now = NOW) => diffPool(prev ? samplePool(prev, now - 2000, null) : null, samplePool(next, now, NOW + 60_000), next);

describe("pool events", () => {
  it("an account that dies is announced once, with its reason; accounts dead before the start are not", () => {
    const before = [view("a"), view("b", { status: "dead", effectiveStatus: "dead", usable: false })];
    expect(events(null, before)).toEqual([]);
    const after = [view("a", { status: "dead", effectiveStatus: "dead", usable: false, statusReason: "logged out / cookie expired (401)" }), before[1]!];
    expect(events(before, after)).toEqual([{ type: "account_dead", token: "a", reason: "logged out / cookie expired (401)" }]);
    expect(events(after, after)).toEqual([]);
  });

  it("all cooling when the last usable account stops, usable again when the first frees up", () => {
    const ok = [view("a"), view("b", { status: "cooling", effectiveStatus: "cooling", usable: false })];
    const cooling = [view("a", { status: "cooling", effectiveStatus: "cooling", usable: false }), ok[1]!];
    expect(events(ok, cooling)).toEqual([{ type: "all_cooling", nextUsableAt: NOW + 60_000 }]);
    expect(events(cooling, cooling)).toEqual([]);
    expect(events(cooling, ok)).toEqual([{ type: "usable_again", usable: 1 }]);
    // at start: already all cooling is worth saying
    expect(events(null, cooling).map((e) => e.type)).toEqual(["all_cooling"]);
    // all dead is not "cooling"
    const dead = [view("a", { status: "dead", effectiveStatus: "dead", usable: false })];
    expect(events(null, dead)).toEqual([]);
  });

  it("new Cloudflare / anti-bot notes are announced; old notes and other kinds are not", () => {
    const at = NOW - 1000;
    const before = [view("a", { failures: [{ at: NOW - 600_000, kind: "cloudflare", message: "old" }] })];
    const after = [view("a", { failures: [...before[0]!.failures, { at, kind: "rate_limited", message: "429" }, { at: at + 1, kind: "cloudflare", message: "403 challenge" }, { at: at + 2, kind: "anti_bot", message: "code 7" }] })];
    expect(events(before, after)).toEqual([
      { type: "blocked", kind: "cloudflare", token: "a", message: "403 challenge", at: at + 1 },
      { type: "blocked", kind: "anti_bot", token: "a", message: "code 7", at: at + 2 },
    ]);
    // an account added meanwhile brings its old notes along: not news
    const added = [...after, view("new", { failures: [{ at, kind: "cloudflare", message: "from before" }] })];
    expect(events(after, added)).toEqual([]);
  });
});

describe("requests today", () => {
  it("counts the growth of use counters, not a new account's earlier uses, and starts over at midnight", () => {
    const r = new RequestsToday(NOW);
    expect(r.update([view("a", { useCount: 10 })], NOW)).toBe(0);
    expect(r.update([view("a", { useCount: 13 }), view("b", { useCount: 99 })], NOW + 1000)).toBe(3);
    expect(r.update([view("b", { useCount: 100 })], NOW + 2000)).toBe(4); // a removed: no harm
    const tomorrow = new Date(2026, 5, 16, 0, 0, 1).getTime();
    expect(r.update([view("b", { useCount: 102 })], tomorrow)).toBe(2);
    expect(r.value).toEqual({ day: localDay(tomorrow), count: 2 });
  });

  it("carries today's count over a restart, not yesterday's", () => {
    expect(new RequestsToday(NOW, { day: localDay(NOW), count: 17 }).update([], NOW)).toBe(17);
    expect(new RequestsToday(NOW, { day: "2020-01-01", count: 17 }).update([], NOW)).toBe(0);
  });
});

describe("PoolWatcher", () => {
  it("samples at once, then every interval; poke() samples soon but at most once per gap", () => {
    const timers = manualTimers();
    let accounts = [view("a", { useCount: 1 })];
    const onSample = vi.fn();
    const onEvents = vi.fn();
    const w = new PoolWatcher({ list: () => accounts, nextResetAt: () => null }, { onSample, onEvents }, { timers, intervalMs: 2000, minGapMs: 1000 });
    w.start();
    expect(onSample).toHaveBeenCalledTimes(1);
    w.poke(); // right after a sample: held to the gap
    w.poke();
    expect(onSample).toHaveBeenCalledTimes(1);
    timers.advance(1000);
    expect(onSample).toHaveBeenCalledTimes(2);
    accounts = [view("a", { useCount: 4, status: "dead", effectiveStatus: "dead", usable: false })];
    timers.advance(2000);
    expect(onSample).toHaveBeenCalledTimes(3);
    expect(onSample.mock.calls.at(-1)![0].requestsToday).toBe(3);
    expect(onEvents).toHaveBeenCalledWith([{ type: "account_dead", token: "a", reason: "" }]);
    w.stop();
    timers.advance(10_000);
    expect(onSample).toHaveBeenCalledTimes(3);
  });

  it("Throttle runs at once when idle and once at the end of the gap when asked meanwhile", () => {
    const timers = manualTimers();
    const fn = vi.fn();
    const t = new Throttle(fn, 500, timers);
    t.request();
    t.request();
    t.request();
    expect(fn).toHaveBeenCalledTimes(1);
    timers.advance(499);
    expect(fn).toHaveBeenCalledTimes(1);
    timers.advance(1);
    expect(fn).toHaveBeenCalledTimes(2);
    t.request();
    t.cancel();
    timers.advance(1000);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});
