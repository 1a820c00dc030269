/**
 * The one Store contract suite. Every backend test file calls runStoreContract() with a factory
 * that sets up a fresh real backend (temp dir / own MariaDB database / own Redis prefix).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newAccountRecord, type AccountRecord } from "../../src/server/core/account.js";
import type { Store, StoreChange } from "../../src/server/store/types.js";
import { waitFor } from "./helpers.js";

export interface StoreFixture {
  /** An initialised store on a fresh, empty backend. */
  store: Store;
  /** Opens (and initialises) another instance on the same backend: same dir / database / prefix. */
  open(): Promise<Store>;
  /** Closes every instance still open and removes the backend's data. */
  cleanup(): Promise<void>;
}

/**
 * A fixture from a way to open one more instance on the same data and a way to remove that data:
 * every instance opened is closed on cleanup, and the data is removed even when the first open fails.
 */
export async function storeFixture(create: () => Store | Promise<Store>, removeData: () => Promise<void>): Promise<StoreFixture> {
  const opened: Store[] = [];
  const open = async () => {
    const s = await create();
    await s.init();
    opened.push(s);
    return s;
  };
  try {
    return {
      store: await open(),
      open,
      async cleanup() {
        for (const s of opened) await s.close();
        await removeData();
      },
    };
  } catch (e) {
    for (const s of opened) await s.close().catch(() => {});
    await removeData();
    throw e;
  }
}

export interface ContractOptions {
  /** How long another instance's change may take to arrive (default 3000 ms). */
  changeTimeoutMs?: number;
}

let counter = 0;
export function tok(label = "t"): string {
  // JWT-looking, unique per call
  return `eyJhbGciOiJIUzI1NiJ9.${label}-${process.pid}-${Date.now().toString(36)}-${++counter}.sig`;
}

export function rec(token: string, patch: Partial<AccountRecord> = {}): AccountRecord {
  return { ...newAccountRecord(token, 1_700_000_000_000 + counter), ...patch };
}

const byToken = (a: AccountRecord, b: AccountRecord) => (a.token < b.token ? -1 : a.token > b.token ? 1 : 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function runStoreContract(name: string, makeStore: () => Promise<StoreFixture>, options: ContractOptions = {}): void {
  const changeTimeout = options.changeTimeoutMs ?? 3000;

  describe(`Store contract: ${name}`, () => {
    let fx: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      fx = await makeStore();
      store = fx.store;
    });
    afterEach(async () => {
      await fx?.cleanup();
    });

    it("starts empty and has no problems", async () => {
      expect(await store.getSettings()).toEqual({});
      expect(await store.listAccounts()).toEqual([]);
      expect(store.problems ?? []).toEqual([]);
    });

    it("settings: round-trip, whole-object replace, returned copies are detached", async () => {
      const s1 = { global: { api_keys: ["k1", "k2"], admin_username: "admin" }, grok: { proxy_url: "", retry: [401, 429], nested: { a: 1 }, on: true } };
      await store.saveSettings(s1);
      expect(await store.getSettings()).toEqual(s1);
      const got = await store.getSettings();
      got.global!.admin_username = "mutated";
      expect((await store.getSettings()).global!.admin_username).toBe("admin");
      await store.saveSettings({ grok: { proxy_url: "http://p:1" } });
      expect(await store.getSettings()).toEqual({ grok: { proxy_url: "http://p:1" } });
      await expect(store.saveSettings({ bad: 1 } as never)).rejects.toThrow(/section/);
    });

    it("accounts: put/get/list/replace/delete", async () => {
      const [a, b, c] = [tok("a"), tok("b"), tok("c")];
      const ra = rec(a, { tags: ["x"], note: "n", quota: { fast: { remaining: 3, total: 20, confidence: "confirmed", resetAt: 5, windowSeconds: 7200, syncedAt: 4 } } });
      await store.putAccounts([ra, rec(b), rec(c, { tier: "super", tierSource: "manual" })]);
      expect(await store.getAccount(a)).toEqual(ra);
      expect(await store.getAccount(tok("missing"))).toBeNull();
      const list = await store.listAccounts();
      expect(list.map((r) => r.token).sort()).toEqual([a, b, c].sort());
      expect(list.find((r) => r.token === c)!.tier).toBe("super");

      await store.putAccounts([rec(b, { status: "dead", statusReason: "401" })]);
      expect((await store.getAccount(b))!.status).toBe("dead");
      expect((await store.listAccounts()).length).toBe(3);

      await store.putAccounts([]); // no-op
      expect(await store.deleteAccounts([a, c, tok("never")])).toBe(2);
      expect(await store.deleteAccounts([a])).toBe(0);
      expect(await store.deleteAccounts([])).toBe(0);
      expect((await store.listAccounts()).map((r) => r.token)).toEqual([b]);
      await expect(store.putAccounts([{ token: "" } as AccountRecord])).rejects.toThrow(/token/);
    });

    it("updateAccount: missing token, no-op update, stored result, token is immutable", async () => {
      const t = tok("u");
      expect(await store.updateAccount(t, (r) => r)).toBeNull();
      await store.putAccounts([rec(t, { note: "before" })]);
      const unchanged = await store.updateAccount(t, () => null);
      expect(unchanged!.note).toBe("before");
      const out = await store.updateAccount(t, (r) => ({ ...r, note: "after", status: "cooling", cooldownUntil: 123 }));
      expect(out!.note).toBe("after");
      expect(await store.getAccount(t)).toEqual(out);
      await expect(store.updateAccount(t, (r) => ({ ...r, token: "other" }))).rejects.toThrow(/token/);
      expect((await store.getAccount(t))!.note).toBe("after");
    });

    it("updateAccount is atomic: 50 concurrent increments from two instances add exactly 50", async () => {
      const other = await fx.open();
      const t = tok("inc");
      await store.putAccounts([rec(t, { useCount: 0 })]);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? store : other).updateAccount(t, (r) => ({ ...r, useCount: r.useCount + 1 }))),
      );
      expect((await store.getAccount(t))!.useCount).toBe(50);
      expect((await other.getAccount(t))!.useCount).toBe(50);
      // every increment saw a distinct predecessor: the returned counts are exactly 1..50
      expect(results.map((r) => r!.useCount).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    });

    it("updateSettings is atomic: 40 concurrent writers of distinct keys from two instances all survive", async () => {
      const other = await fx.open();
      await store.saveSettings({ grok: { keep: "me" } });
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? store : other).updateSettings((cur) => ({ ...cur, grok: { ...(cur.grok ?? {}), [`k${i}`]: i } }))),
      );
      const final = await other.getSettings();
      expect(final.grok!.keep).toBe("me");
      for (let i = 0; i < 40; i++) expect(final.grok![`k${i}`]).toBe(i);
      const returned = await store.updateSettings((cur) => ({ ...cur, global: { x: 1 } }));
      expect(returned.global).toEqual({ x: 1 });
      expect(returned.grok!.k0).toBe(0);
      await expect(store.updateSettings(() => "nope" as never)).rejects.toThrow();
      expect((await store.getSettings()).global).toEqual({ x: 1 }); // a failed update stores nothing
    });

    it("kv: set/get/overwrite/delete and ttl expiry", async () => {
      expect(await store.kvGet("nope")).toBeNull();
      await store.kvSet("admin:password", "hash1");
      expect(await store.kvGet("admin:password")).toBe("hash1");
      await store.kvSet("admin:password", "hash2");
      expect(await store.kvGet("admin:password")).toBe("hash2");
      await store.kvDelete("admin:password");
      expect(await store.kvGet("admin:password")).toBeNull();
      await store.kvDelete("admin:password"); // deleting twice is fine

      await store.kvSet("session:1", "s", 300);
      await store.kvSet("session:2", "s2", 300);
      await store.kvSet("session:2", "s2-forever"); // overwrite without ttl clears the expiry
      expect(await store.kvGet("session:1")).toBe("s");
      await sleep(450);
      expect(await store.kvGet("session:1")).toBeNull();
      expect(await store.kvGet("session:2")).toBe("s2-forever");
      await expect(store.kvSet("k", "v", 0)).rejects.toThrow(/ttl/);
    });

    it("slots: cap holds under 40 concurrent acquires from two instances; release; same lease re-acquires", async () => {
      const other = await fx.open();
      const t = tok("slot");
      const cap = 5;
      const leases = Array.from({ length: 40 }, (_, i) => `lease-${i}`);
      const got = await Promise.all(leases.map((l, i) => (i % 2 ? store : other).acquireSlot(t, l, cap, 30_000)));
      const winners = leases.filter((_, i) => got[i]);
      expect(winners.length).toBe(cap);
      expect(await store.slotCount(t)).toBe(cap);
      expect(await other.slotCount(t)).toBe(cap);
      expect(await store.slotCount(tok("other-account"))).toBe(0);

      // full: a new lease is refused, a held lease may refresh itself
      expect(await store.acquireSlot(t, "late", cap, 30_000)).toBe(false);
      expect(await other.acquireSlot(t, winners[0]!, cap, 30_000)).toBe(true);
      expect(await store.slotCount(t)).toBe(cap);

      await other.releaseSlot(t, winners[1]!);
      await other.releaseSlot(t, "not-held"); // harmless
      expect(await store.slotCount(t)).toBe(cap - 1);
      expect(await store.acquireSlot(t, "late", cap, 30_000)).toBe(true);
      expect(await store.acquireSlot(t, "later", cap, 30_000)).toBe(false);
      expect(await store.acquireSlot(t, "zero-cap", 0, 30_000)).toBe(false);
    });

    it("slots: an unreleased lease expires after its ttl", async () => {
      const t = tok("ttl");
      expect(await store.acquireSlot(t, "crashed", 1, 300)).toBe(true);
      expect(await store.acquireSlot(t, "next", 1, 300)).toBe(false);
      await sleep(450);
      expect(await store.slotCount(t)).toBe(0);
      expect(await store.acquireSlot(t, "next", 1, 30_000)).toBe(true);
    });

    it("recordUsage: batched per token, visible after flush, adds without overwriting newer fields", async () => {
      const other = await fx.open();
      const t = tok("use");
      await store.putAccounts([rec(t, { useCount: 5, failCount: 1, lastUsedAt: 1000 })]);
      store.recordUsage({ token: t, uses: 2, lastUsedAt: 5000 });
      store.recordUsage({ token: t, uses: 1, failures: 1, lastUsedAt: 3000 });
      store.recordUsage({ token: tok("unknown"), uses: 1 }); // dropped: no such account
      // a newer write by another instance while the usage is still pending
      await other.updateAccount(t, (r) => ({ ...r, note: "newer", status: "cooling", cooldownUntil: 99 }));
      await store.flush();
      const r = (await other.getAccount(t))!;
      expect(r.useCount).toBe(8);
      expect(r.failCount).toBe(2);
      expect(r.lastUsedAt).toBe(5000);
      expect(r.note).toBe("newer");
      expect(r.status).toBe("cooling");

      other.recordUsage({ token: t, uses: 4, lastUsedAt: 10 }); // older lastUsedAt never moves it back
      store.recordUsage({ token: t, uses: 1 });
      await Promise.all([other.flush(), store.flush()]);
      const r2 = (await store.getAccount(t))!;
      expect(r2.useCount).toBe(13);
      expect(r2.lastUsedAt).toBe(5000);
      expect(await store.listAccounts()).toHaveLength(1);
      expect(() => store.recordUsage({ token: t, uses: Number.NaN })).toThrow();
    });

    it("recordUsage: flushed by itself within ~1 s", async () => {
      const t = tok("auto");
      await store.putAccounts([rec(t)]);
      const t0 = Date.now();
      store.recordUsage({ token: t, uses: 1, lastUsedAt: t0 });
      const seen = await waitFor(async () => (await store.getAccount(t))!.useCount === 1, 2000, 20);
      const elapsed = Date.now() - t0;
      expect(seen).toBe(true);
      expect(elapsed).toBeLessThanOrEqual(1200);
    });

    it("onChange: another instance's account and settings changes are delivered", async () => {
      const other = await fx.open();
      const seen: StoreChange[] = [];
      const off = other.onChange((c) => seen.push(c));
      const t = tok("feed");
      await store.putAccounts([rec(t)]);
      const accountsSeen = () => seen.some((c) => c.kind === "accounts" && (c.tokens === "all" || c.tokens.includes(t)));
      expect(await waitFor(accountsSeen, changeTimeout)).toBe(true);
      await store.saveSettings({ global: { x: 1 } });
      expect(await waitFor(() => seen.some((c) => c.kind === "settings"), changeTimeout)).toBe(true);
      seen.length = 0;
      await store.updateAccount(t, (r) => ({ ...r, note: "changed" }));
      expect(await waitFor(accountsSeen, changeTimeout)).toBe(true);
      off();
    });

    it("durability: everything written is there after close() and re-open", async () => {
      const t1 = tok("d1");
      const t2 = tok("d2");
      await store.saveSettings({ global: { admin_username: "root" }, grok: { proxy_url: "socks5://x" } });
      await store.putAccounts([rec(t1, { tags: ["keep"] }), rec(t2)]);
      await store.updateAccount(t1, (r) => ({ ...r, note: "updated" }));
      await store.deleteAccounts([t2]);
      await store.kvSet("admin:hash", "scrypt$abc");
      await store.kvSet("short", "x", 60_000);
      store.recordUsage({ token: t1, uses: 3 }); // flushed by close()
      await store.close();
      await store.close(); // idempotent

      const again = await fx.open();
      expect(await again.getSettings()).toEqual({ global: { admin_username: "root" }, grok: { proxy_url: "socks5://x" } });
      const list = await again.listAccounts();
      expect(list.map((r) => r.token)).toEqual([t1]);
      expect(list[0]!.note).toBe("updated");
      expect(list[0]!.tags).toEqual(["keep"]);
      expect(list[0]!.useCount).toBe(3);
      expect(await again.kvGet("admin:hash")).toBe("scrypt$abc");
      expect(await again.kvGet("short")).toBe("x");
      expect((await again.listAccounts()).sort(byToken)).toEqual(list.sort(byToken));
    });

    it("methods fail clearly before init() and after close()", async () => {
      const other = await fx.open();
      await other.close();
      await expect(other.getSettings()).rejects.toThrow(/closed/);
    });
  });
}
