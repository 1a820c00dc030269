/**
 * The pool's accounts in memory: one PoolEntry per stored account, in an array whose slot i is
 * also slot i of the hot Columns the selection scan reads, plus a token index. Loading and
 * re-reading from the store happen here; an entry removed from the roster is detached (outstanding
 * leases keep working on its private copy) and its slot goes to the last entry.
 */
import type { PoolStore } from "./api.js";
import { Columns } from "./columns.js";
import { PoolEntry } from "./entry.js";
import type { EntryWriter } from "./entry-writer.js";
import { maskToken, normalizeToken } from "../core/token.js";
import type { AccountRecord, Clock, Tier } from "../core/account.js";

export interface RosterDeps {
  store: PoolStore;
  clock: Clock;
  random: () => number;
  /** Re-reads of one account run through its writer chain, in order with its writes. */
  writer: EntryWriter;
  /** Periodic sync interval per tier (0 = never). */
  intervals: Readonly<Record<Tier, number>>;
}

export class Roster {
  /** Hot per-account figures for the scan; slot i belongs to entries[i]. */
  readonly cols = new Columns();
  readonly entries: PoolEntry[] = [];
  private readonly byToken = new Map<string, PoolEntry>();
  private readonly deps: RosterDeps;

  constructor(deps: RosterDeps) {
    this.deps = deps;
  }

  has(token: string): boolean {
    return this.byToken.has(token);
  }

  /** The entry of a token as given or in its normalised form. */
  find(token: string): PoolEntry | undefined {
    return this.byToken.get(token) ?? this.byToken.get(normalizeToken(token));
  }

  require(token: string): PoolEntry {
    const e = this.find(token);
    if (e === undefined) throw new Error(`pool: unknown account ${maskToken(token)}`);
    return e;
  }

  /** Reads every stored record; adopts unchanged entries, re-reads busy ones, drops the gone. */
  async reloadAll(): Promise<void> {
    const gens = new Map<PoolEntry, number>();
    for (const e of this.entries) gens.set(e, e.gen);
    const list = await this.deps.store.listAccounts();
    const seen = new Set<string>();
    const now = this.deps.clock.now();
    const later: Promise<void>[] = [];
    for (const rec of list) {
      seen.add(rec.token);
      const e = this.byToken.get(rec.token);
      if (e === undefined) this.insert(rec);
      else if (e.pending.length === 0 && gens.get(e) === e.gen) e.adopt(rec, now);
      else later.push(this.reloadOne(rec.token)); // a write or re-read happened meanwhile: read again in order
    }
    for (const [e] of gens) if (!seen.has(e.token) && !e.removed) this.drop(e);
    await Promise.all(later);
  }

  async reloadOne(token: string): Promise<void> {
    const e = this.byToken.get(token);
    if (e === undefined) {
      const rec = await this.deps.store.getAccount(token);
      if (rec !== null && !this.byToken.has(token)) this.insert(rec);
      return;
    }
    await this.deps.writer.reread(e);
  }

  /** Which of `tokens` the store has (added by another process meanwhile); those are loaded too. */
  async storedAmong(tokens: string[]): Promise<string[]> {
    if (tokens.length === 0) return [];
    const store = this.deps.store;
    let found: AccountRecord[];
    if (tokens.length > 20) {
      const want = new Set(tokens);
      found = (await store.listAccounts()).filter((r) => want.has(r.token));
    } else {
      found = (await Promise.all(tokens.map((t) => store.getAccount(t)))).filter((r): r is AccountRecord => r !== null);
    }
    for (const r of found) if (!this.byToken.has(r.token)) this.insert(r);
    return found.map((r) => r.token);
  }

  insert(rec: AccountRecord): PoolEntry {
    const e = new PoolEntry(this.cols, rec);
    e.salt = this.deps.random();
    this.entries.push(e); // entries[e.index] === e
    this.byToken.set(rec.token, e);
    let last: number | null = null;
    for (const b of Object.values(rec.quota)) if (b.syncedAt !== null && (last === null || b.syncedAt > last)) last = b.syncedAt;
    const interval = this.deps.intervals[rec.tier];
    e.nextSyncAt = interval > 0 ? (last === null ? this.deps.clock.now() : last + interval) : Infinity;
    return e;
  }

  drop(e: PoolEntry): void {
    if (e.removed) return;
    const slot = e.index;
    e.detach();
    this.cols.removeSwap(slot);
    const last = this.entries.pop()!;
    if (last !== e) {
      this.entries[slot] = last;
      last.index = slot;
    }
    this.byToken.delete(e.token);
  }
}
