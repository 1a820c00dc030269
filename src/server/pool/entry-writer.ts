/**
 * Durable writes of account changes. A change is a Mutation: applied to the in-memory record at
 * once (so concurrent leases see it), then applied with store.updateAccount to the CURRENT stored
 * record (atomic read-modify-write; never a stale in-memory copy), together with the account's
 * unpersisted local quota decrements. Writes and re-reads of one account run in order on its
 * chain; each result is adopted as the new in-memory base (PoolEntry.adopt).
 */
import type { PoolLogger, PoolStore } from "./api.js";
import type { PendingMutation, PoolEntry } from "./entry.js";
import { applyLedger, normalizeRecord, type Mutation } from "./record-state.js";
import { maskToken } from "../core/token.js";
import type { AccountRecord, Clock } from "../core/account.js";

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class EntryWriter {
  private readonly store: PoolStore;
  private readonly clock: Clock;
  private readonly log: PoolLogger;
  /** Called when the store no longer has the account (deleted by another process). */
  private readonly onGone: (e: PoolEntry) => void;
  private readonly tasks = new Set<Promise<void>>();

  constructor(store: PoolStore, clock: Clock, log: PoolLogger, onGone: (e: PoolEntry) => void) {
    this.store = store;
    this.clock = clock;
    this.log = log;
    this.onGone = onGone;
  }

  /** Applies `m` in memory now, then durably (in order per account). m = null: only normalisation and estimates. Never rejects. */
  persist(e: PoolEntry, m: Mutation | null): Promise<void> {
    const now = this.clock.now();
    if (m !== null) {
      const r = m(e.rec, now);
      if (r !== null) e.setRec(r);
    }
    const p: PendingMutation = { fn: m, now };
    e.pending.push(p);
    return this.enqueue(e, () => this.write(e, p));
  }

  /** Re-reads the account in order with its writes, and adopts what is stored. Never rejects. */
  reread(e: PoolEntry): Promise<void> {
    return this.enqueue(e, async () => {
      const rec = await this.store.getAccount(e.token);
      if (e.removed) return;
      if (rec === null) this.onGone(e);
      else e.adopt(rec, this.clock.now());
    });
  }

  /** Tracks a promise that never rejects, for whenIdle(). */
  background(p: Promise<void>): void {
    this.tasks.add(p);
    void p.then(() => this.tasks.delete(p));
  }

  /** Resolves when every write/re-read started so far has finished. */
  async whenIdle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.all([...this.tasks]);
  }

  private async write(e: PoolEntry, p: PendingMutation): Promise<void> {
    const snap = e.snapshotLedger();
    let stored: AccountRecord | null;
    try {
      stored = await this.store.updateAccount(e.token, (cur) => {
        const base = normalizeRecord(cur, this.clock.now());
        const changed = p.fn === null ? base : (p.fn(base, p.now) ?? base);
        const out = applyLedger(changed, snap);
        return out === cur ? null : out;
      });
    } catch (err) {
      e.pending.splice(e.pending.indexOf(p), 1);
      this.log("error", "pool: could not persist an account change", { account: maskToken(e.token), error: errorText(err) });
      return;
    }
    e.pending.splice(e.pending.indexOf(p), 1);
    e.consumeLedger(snap);
    if (e.removed) return;
    if (stored === null) this.onGone(e);
    else e.adopt(stored, this.clock.now());
  }

  private enqueue(e: PoolEntry, task: () => Promise<void>): Promise<void> {
    const run = e.chain.then(task).catch((err: unknown) => {
      this.log("error", "pool: account task failed", { account: maskToken(e.token), error: errorText(err) });
    });
    e.chain = run;
    this.background(run);
    return run;
  }
}
