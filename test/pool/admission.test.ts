/**
 * Admission (src/server/pool/admission.ts): when every eligible account is at its concurrency cap
 * a request waits in a FIFO queue per (minTier, bucket) for a slot, up to a timeout and a depth
 * cap; a client that goes away leaves at once; quota exhaustion is never queued. Timers are fake
 * (driven with the pool's fake clock), so nothing here depends on how fast the machine is.
 */
import { describe, expect, it } from "vitest";
import { AccountPool } from "../../src/server/pool/account-pool.js";
import type { AdmissionTimers } from "../../src/server/pool/admission.js";
import type { Lease, LeaseRequest } from "../../src/server/pool/api.js";
import { NoAccountError } from "../../src/server/pool/no-account-error.js";
import { noAccountError } from "../../src/server/runner/failure-status.js";
import { FakeClock, account, bucket, seeded, setup } from "./helpers.js";
import { MemoryPoolStore } from "./memory-store.js";

/** setTimeout/clearTimeout on the fake clock: `advance(ms)` runs what falls due, in order. */
class FakeTimers implements AdmissionTimers {
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();
  constructor(private readonly clock: FakeClock) {}
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.due.set(id, { at: this.clock.now() + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.due.delete(h as number);
  }
  get pending(): number {
    return this.due.size;
  }
  async advance(ms: number): Promise<void> {
    await settle(); // what was started before (a lease attempt before joining the queue) first
    const end = this.clock.now() + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.due) if (e[1].at <= end && (next === null || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (next === null) break;
      this.due.delete(next[0]);
      this.clock.t = Math.max(this.clock.t, next[1].at);
      next[1].fn();
      await settle();
    }
    this.clock.t = end;
    await settle();
  }
}

/** Lets every promise chain started so far run to its end (store latency is a microtask). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

const fast: LeaseRequest = { bucket: "fast", cost: 1, minTier: "basic" };
const wait = (ms = 30_000, maxDepth = 100) => ({ timeoutMs: ms, maxDepth });

async function queued(cap = 1, records = [account("a")]) {
  const s = await setup(records, { concurrencyPerAccount: cap });
  const timers = new FakeTimers(s.clock);
  const pool = new AccountPool({ store: s.store, clock: s.clock, random: seeded(7), concurrencyPerAccount: cap, timers, admissionPollMs: { min: 25, max: 200 } });
  await pool.load();
  return { ...s, pool, timers };
}

/** Tracks a pending admit: its lease once granted, or its error. */
function track(p: Promise<Lease>) {
  const t = { lease: null as Lease | null, error: null as unknown, settled: false };
  p.then(
    (l) => Object.assign(t, { lease: l, settled: true }),
    (e) => Object.assign(t, { error: e, settled: true }),
  );
  return t;
}

describe("admission queue", () => {
  it("serves waiters first in, first out as slots free", async () => {
    const { pool, store } = await queued(1);
    const held = await pool.admit(fast, wait());
    const order: string[] = [];
    const waiters = ["w1", "w2", "w3"].map((name) => ({ name, t: track(pool.admit(fast, wait())) }));
    await settle();
    expect(pool.admissionStats().depth).toBe(3);
    expect(waiters.every((w) => !w.t.settled)).toBe(true);

    await held.release();
    for (let round = 0; round < 3; round++) {
      await settle();
      const served = waiters.filter((w) => w.t.lease !== null && !order.includes(w.name));
      expect(served.map((w) => w.name)).toHaveLength(1); // one slot: exactly one waiter at a time
      order.push(served[0]!.name);
      expect(store.heldSlots()).toBe(1);
      await served[0]!.t.lease!.release();
    }
    expect(order).toEqual(["w1", "w2", "w3"]);
    const st = pool.admissionStats();
    expect(st).toMatchObject({ depth: 0, peakDepth: 3, totals: { queued: 3, granted: 3, timedOut: 0, aborted: 0, rejectedFull: 0 } });
    expect(st.waitMs.samples).toBe(3);
    expect(pool.leakCheck()).toBe(0);
    expect(store.heldSlots()).toBe(0);
  });

  it("a newcomer joins behind the waiters of its kind even if a slot is free at that moment", async () => {
    const { pool } = await queued(1);
    const held = await pool.admit(fast, wait());
    const first = track(pool.admit(fast, wait()));
    await settle();
    const release = held.release(); // frees the slot; the first waiter takes it, the newcomer may not jump it
    const late = track(pool.admit(fast, wait()));
    await release;
    await settle();
    expect(first.lease).not.toBeNull();
    expect(late.settled).toBe(false);
    await first.lease!.release();
    await settle();
    expect(late.lease).not.toBeNull();
    await late.lease!.release();
    expect(pool.leakCheck()).toBe(0);
  });

  it("queues per model tier: a freed basic slot goes to the basic waiter, a freed super slot to the oldest waiter that can use it", async () => {
    const { pool } = await queued(1, [account("b"), account("s", {}, "super")]);
    const heldB = await pool.admit(fast, wait());
    expect(heldB.token).toBe("b"); // lowest sufficient tier first
    const heldS = await pool.admit(fast, wait());
    expect(heldS.token).toBe("s");
    const superWaiter = track(pool.admit({ bucket: "fast", cost: 1, minTier: "super" }, wait()));
    await settle();
    const basicWaiter = track(pool.admit(fast, wait()));
    await settle();
    expect(pool.admissionStats().queues.map((q) => [q.tier, q.depth])).toEqual([["super", 1], ["basic", 1]]);

    await heldB.release(); // only the basic request can use account b, though the super one waited longer
    await settle();
    expect(basicWaiter.lease?.token).toBe("b");
    expect(superWaiter.settled).toBe(false);

    const another = track(pool.admit(fast, wait())); // basic again, behind nobody of its kind
    await settle();
    await heldS.release(); // both the super waiter and the new basic one could use s: the older one gets it
    await settle();
    expect(superWaiter.lease?.token).toBe("s");
    expect(another.settled).toBe(false);
    await superWaiter.lease!.release();
    await settle();
    expect(another.lease?.token).toBe("s");
    await Promise.all([basicWaiter.lease!.release(), another.lease!.release()]);
    expect(pool.leakCheck()).toBe(0);
  });

  it("times out with queue_timeout and a retry hint; the HTTP mapping is 429 with Retry-After", async () => {
    const { pool, timers } = await queued(1);
    const held = await pool.admit(fast, wait());
    const t = track(pool.admit(fast, wait(5_000)));
    await timers.advance(4_999);
    expect(t.settled).toBe(false);
    await timers.advance(1);
    expect(t.error).toBeInstanceOf(NoAccountError);
    const err = t.error as NoAccountError;
    expect(err.reason).toBe("queue_timeout");
    expect(err.message).toMatch(/5 s/);
    expect(err.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
    const http = noAccountError(err, { label: "grok-chat-fast", minTier: "basic" });
    expect(http.status).toBe(429);
    expect(http.code).toBe("rate_limited");
    expect(http.retryAfterMs).toBe(err.retryAfterMs);
    expect(http.message).toMatch(/busy/);
    expect(pool.admissionStats()).toMatchObject({ depth: 0, totals: { timedOut: 1 } });
    await held.release();
    expect(pool.leakCheck()).toBe(0);
  });

  it("the retry hint grows with the typical hold time of a slot", async () => {
    const { pool, clock, timers } = await queued(1);
    for (let i = 0; i < 30; i++) {
      const l = await pool.admit(fast, wait());
      clock.advance(10_000); // each request holds its slot 10 s
      await l.release();
    }
    const held = await pool.admit(fast, wait());
    const t = track(pool.admit(fast, wait(1_000)));
    await timers.advance(1_000);
    const err = t.error as NoAccountError;
    expect(err.reason).toBe("queue_timeout");
    expect(err.retryAfterMs).toBeGreaterThan(5_000);
    await held.release();
  });

  it("a client that goes away leaves the queue at once; the slot goes to the next waiter", async () => {
    const { pool, store, timers } = await queued(1);
    const held = await pool.admit(fast, wait());
    const ctrl = new AbortController();
    const gone = track(pool.admit(fast, { ...wait(), signal: ctrl.signal }));
    const next = track(pool.admit(fast, wait()));
    await settle();
    expect(pool.admissionStats().depth).toBe(2);
    ctrl.abort(new Error("client disconnected"));
    await settle();
    expect((gone.error as Error).message).toBe("client disconnected");
    expect(pool.admissionStats()).toMatchObject({ depth: 1, totals: { aborted: 1 } });
    await held.release();
    await settle();
    expect(next.lease).not.toBeNull();
    await next.lease!.release();
    expect(store.heldSlots()).toBe(0);
    expect(pool.leakCheck()).toBe(0);
    expect(timers.pending).toBe(0); // its timeout and the poll are gone
  });

  it("an already aborted signal never queues", async () => {
    const { pool } = await queued(1);
    const held = await pool.admit(fast, wait());
    const ctrl = new AbortController();
    ctrl.abort(new Error("gone"));
    await expect(pool.admit(fast, { ...wait(), signal: ctrl.signal })).rejects.toThrow("gone");
    expect(pool.admissionStats().totals.queued).toBe(0);
    await held.release();
  });

  it("depth cap: beyond queue_max_depth waiting requests the answer is queue_full at once", async () => {
    const { pool } = await queued(1);
    const held = await pool.admit(fast, wait());
    const a = track(pool.admit(fast, wait(30_000, 2)));
    const b = track(pool.admit(fast, wait(30_000, 2)));
    await settle();
    const err = await pool.admit(fast, wait(30_000, 2)).then(() => null, (e: unknown) => e as NoAccountError);
    expect(err?.reason).toBe("queue_full");
    expect(err?.message).toMatch(/2 requests are already waiting \(queue_max_depth 2\)/);
    expect(noAccountError(err!, { label: "m", minTier: "basic" })).toMatchObject({ status: 429 });
    expect(pool.admissionStats()).toMatchObject({ depth: 2, totals: { rejectedFull: 1 } });
    await held.release();
    await settle();
    await a.lease!.release();
    await settle();
    await b.lease!.release();
    expect(pool.leakCheck()).toBe(0);
  });

  it("no queue (timeout 0 or depth 0): busy at once, as before", async () => {
    const { pool } = await queued(1);
    const held = await pool.admit(fast, wait());
    await expect(pool.admit(fast, wait(0))).rejects.toMatchObject({ reason: "busy" });
    await expect(pool.admit(fast, wait(30_000, 0))).rejects.toMatchObject({ reason: "busy" });
    await held.release();
  });

  it("quota exhaustion is never queued: 429 at once naming the reset", async () => {
    const resetAt = Date.UTC(2026, 7, 18, 14, 0, 0);
    const { pool } = await queued(1, [account("q", { quota: { fast: bucket(0, 30, { resetAt }) } })]);
    const err = await pool.admit(fast, wait()).then(() => null, (e: unknown) => e as NoAccountError);
    expect(err?.reason).toBe("quota");
    const http = noAccountError(err!, { label: "grok-chat-fast", minTier: "basic" });
    expect(http.status).toBe(429);
    expect(http.message).toContain("2026-08-18T14:00:00Z");
    expect(pool.admissionStats().totals.queued).toBe(0);
  });

  it("a waiter whose accounts stop being merely busy (disabled meanwhile) gets that answer at once", async () => {
    const { pool, timers } = await queued(1);
    const held = await pool.admit(fast, wait());
    const t = track(pool.admit(fast, wait()));
    await settle();
    await pool.update("a", { disabled: true });
    await settle();
    expect(t.error).toBeInstanceOf(NoAccountError);
    expect((t.error as NoAccountError).reason).toBe("all_dead");
    expect(pool.admissionStats().totals.failed).toBe(1);
    await held.release();
    await timers.advance(60_000);
  });

  it("raising account_concurrency serves waiters at once", async () => {
    const { pool } = await queued(1);
    const held = await pool.admit(fast, wait());
    const t = track(pool.admit(fast, wait()));
    await settle();
    pool.setConcurrency(2);
    await settle();
    expect(t.lease?.token).toBe("a");
    await Promise.all([held.release(), t.lease!.release()]);
  });

  it("close() ends every wait", async () => {
    const { pool } = await queued(1);
    const held = await pool.admit(fast, wait());
    const t = track(pool.admit(fast, wait()));
    await settle();
    await held.release();
    await settle();
    const t2 = track(pool.admit(fast, wait()));
    await settle();
    await pool.close();
    await settle();
    expect(t2.error).toBeInstanceOf(NoAccountError);
    await t.lease?.release();
    expect(pool.admissionStats().depth).toBe(0);
  });
});

describe("admission across processes (two pools on one store)", () => {
  it("a waiter in pool A gets the slot pool B frees, found by polling with backoff", async () => {
    const clock = new FakeClock();
    const store = new MemoryPoolStore({ clock });
    await store.putAccounts([account("a")]);
    const timers = new FakeTimers(clock);
    const a = new AccountPool({ store, clock, random: seeded(1), concurrencyPerAccount: 1, timers, admissionPollMs: { min: 25, max: 200 } });
    const b = new AccountPool({ store, clock, random: seeded(2), concurrencyPerAccount: 1, timers, admissionPollMs: { min: 25, max: 200 } });
    await Promise.all([a.load(), b.load()]);

    const heldInB = await b.admit(fast, wait());
    const t = track(a.admit(fast, wait()));
    await settle();
    expect(a.admissionStats().depth).toBe(1); // A's own count says free, the shared slot says busy
    const acquiresBefore = store.calls.acquireSlot;
    await timers.advance(2_000); // nothing frees: A polls, backing off to 200 ms
    expect(t.settled).toBe(false);
    const polls = store.calls.acquireSlot - acquiresBefore;
    expect(polls).toBeGreaterThanOrEqual(5);
    expect(polls).toBeLessThanOrEqual(20); // 25, 50, 100, 200, 200… ms: bounded

    await heldInB.release(); // B frees it; A is not told, it finds it at its next poll
    await timers.advance(200);
    expect(t.lease?.token).toBe("a");
    expect(await store.slotCount("a")).toBe(1);

    // and B now waits for A's slot the same way
    const tb = track(b.admit(fast, wait()));
    await settle();
    await t.lease!.release();
    await timers.advance(200);
    expect(tb.lease?.token).toBe("a");
    await tb.lease!.release();
    expect(store.heldSlots()).toBe(0);
    expect(a.leakCheck() + b.leakCheck()).toBe(0);
    await timers.advance(5_000);
    expect(timers.pending).toBe(0); // nobody waits: no poll left running
  });

  it("a waiter that never sees a free shared slot times out with 429 queue_timeout", async () => {
    const clock = new FakeClock();
    const store = new MemoryPoolStore({ clock });
    await store.putAccounts([account("a"), account("b")]);
    store.refuseSlot = () => true; // other processes hold every slot
    const timers = new FakeTimers(clock);
    const pool = new AccountPool({ store, clock, random: seeded(3), concurrencyPerAccount: 2, timers });
    await pool.load();
    const t = track(pool.admit(fast, wait(3_000)));
    await timers.advance(3_000);
    expect((t.error as NoAccountError).reason).toBe("queue_timeout");
    expect(pool.leakCheck()).toBe(0);
  });
});
