/**
 * A faithful in-memory implementation of the PoolStore subset, for pool tests and the bench:
 * records are copied in and out (no shared references), updateAccount is an atomic
 * read-modify-write, recordUsage is batched until flush(), slots expire after their ttl
 * (by the injected clock). Test hooks: latency, failure injection, slot refusal, call counts.
 */
import type { PoolStore } from "../../src/server/pool/api.js";
import { systemClock, type AccountRecord, type Clock } from "../../src/server/core/account.js";
import type { UsageDelta } from "../../src/server/store/types.js";

const clone = <T>(v: T): T => structuredClone(v);

export interface MemoryStoreOptions {
  clock?: Clock;
  /** Awaited at the start of every async method (default: one microtask). */
  latency?: () => Promise<void>;
  /** Copy records in and out (default true). The bench turns it off to measure the pool, not cloning. */
  copy?: boolean;
}

export class MemoryPoolStore implements PoolStore {
  readonly records = new Map<string, AccountRecord>();
  private readonly slots = new Map<string, Map<string, number>>();
  private usage: UsageDelta[] = [];
  private readonly clock: Clock;
  private readonly latency: () => Promise<void>;
  private readonly copy: <T>(v: T) => T;
  readonly calls = { listAccounts: 0, getAccount: 0, putAccounts: 0, updateAccount: 0, deleteAccounts: 0, recordUsage: 0, acquireSlot: 0, releaseSlot: 0 };
  /** The next N updateAccount calls reject. */
  failUpdates = 0;
  /** The next N acquireSlot calls reject. */
  failAcquires = 0;
  /** Return true to refuse a slot regardless of the cap (another process holds it). */
  refuseSlot: ((token: string) => boolean) | null = null;

  constructor(opts: MemoryStoreOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.latency = opts.latency ?? (() => Promise.resolve());
    this.copy = opts.copy === false ? <T>(v: T) => v : clone;
  }

  async listAccounts(): Promise<AccountRecord[]> {
    this.calls.listAccounts++;
    await this.latency();
    return [...this.records.values()].map((r) => this.copy(r));
  }

  async getAccount(token: string): Promise<AccountRecord | null> {
    this.calls.getAccount++;
    await this.latency();
    const r = this.records.get(token);
    return r === undefined ? null : this.copy(r);
  }

  async putAccounts(records: AccountRecord[]): Promise<void> {
    this.calls.putAccounts++;
    await this.latency();
    for (const r of records) this.records.set(r.token, this.copy(r));
  }

  async updateAccount(token: string, update: (current: AccountRecord) => AccountRecord | null): Promise<AccountRecord | null> {
    this.calls.updateAccount++;
    await this.latency();
    if (this.failUpdates > 0) {
      this.failUpdates--;
      throw new Error("injected updateAccount failure");
    }
    const current = this.records.get(token);
    if (current === undefined) return null;
    const next = update(this.copy(current));
    if (next === null) return this.copy(current);
    if (next.token !== token) throw new Error("updateAccount must not change the token");
    this.records.set(token, this.copy(next));
    return this.copy(next);
  }

  async deleteAccounts(tokens: string[]): Promise<number> {
    this.calls.deleteAccounts++;
    await this.latency();
    let n = 0;
    for (const t of tokens) {
      if (this.records.delete(t)) n++;
      this.slots.delete(t);
    }
    return n;
  }

  recordUsage(delta: UsageDelta): void {
    this.calls.recordUsage++;
    this.usage.push({ ...delta });
  }

  /** Applies the batched usage counters (what a real store does ≤ 1 s later). */
  async flush(): Promise<void> {
    const batch = this.usage;
    this.usage = [];
    for (const d of batch) {
      const r = this.records.get(d.token);
      if (r === undefined) continue;
      r.useCount += d.uses ?? 0;
      r.failCount += d.failures ?? 0;
      if (d.lastUsedAt !== undefined) r.lastUsedAt = Math.max(r.lastUsedAt ?? 0, d.lastUsedAt);
    }
  }

  pendingUsage(): readonly UsageDelta[] {
    return this.usage;
  }

  async acquireSlot(token: string, leaseId: string, cap: number, ttlMs: number): Promise<boolean> {
    this.calls.acquireSlot++;
    await this.latency();
    if (this.failAcquires > 0) {
      this.failAcquires--;
      throw new Error("injected acquireSlot failure");
    }
    if (this.refuseSlot?.(token)) return false;
    const held = this.live(token);
    if (held.has(leaseId)) return true;
    if (held.size >= cap) return false;
    held.set(leaseId, this.clock.now() + ttlMs);
    return true;
  }

  async releaseSlot(token: string, leaseId: string): Promise<void> {
    this.calls.releaseSlot++;
    await this.latency();
    this.slots.get(token)?.delete(leaseId);
  }

  async slotCount(token: string): Promise<number> {
    return this.live(token).size;
  }

  /** Unexpired slots over all accounts (synchronous, for assertions). */
  heldSlots(): number {
    let n = 0;
    for (const token of this.slots.keys()) n += this.live(token).size;
    return n;
  }

  private live(token: string): Map<string, number> {
    let held = this.slots.get(token);
    if (held === undefined) {
      held = new Map();
      this.slots.set(token, held);
    }
    const now = this.clock.now();
    for (const [id, exp] of held) if (exp <= now) held.delete(id);
    return held;
  }

  // ---- test helpers ----

  /** The stored record (a copy). */
  raw(token: string): AccountRecord {
    const r = this.records.get(token);
    if (r === undefined) throw new Error(`no record ${token}`);
    return clone(r);
  }

  /** Simulates another process changing a record directly. */
  mutate(token: string, change: (r: AccountRecord) => void): void {
    const r = this.records.get(token);
    if (r === undefined) throw new Error(`no record ${token}`);
    change(r);
  }
}
