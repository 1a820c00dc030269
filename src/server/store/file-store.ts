/**
 * File backend (the embedded default): dataDir/settings.json, dataDir/accounts.json and
 * dataDir/kv.json, each replaced atomically (temp file + fsync + rename + directory fsync).
 * Every write resolves only after its rename.
 *
 * Single process. Store instances opened on the same directory inside one process share one
 * in-memory state (so they see each other's writes and updateAccount stays atomic between them);
 * slots live in memory only. A second *process* on the same directory is detected through a lock
 * file and reported in `problems` (use MySQL or Redis for several processes).
 *
 * A file that does not parse is never silently reset: it is renamed to `<name>.corrupt-<timestamp>`,
 * reported through log("error") and `problems`, and the store continues with empty data.
 * On first start, the original Grok2API's token.json / setting.toml in dataDir are imported
 * (and left untouched) when accounts.json / settings.json do not exist yet.
 *
 * Here: the Store methods. Opening the directory: file-load.ts; the per-directory shared state:
 * file-shared-state.ts; the files' layouts: file-format.ts.
 */
import path from "node:path";
import type { AccountRecord } from "../core/account.js";
import { checkKv, checkSlot } from "./arguments.js";
import type { FileCodec } from "./file-format.js";
import { acquireShared, releaseShared, type Listener, type SharedFileState } from "./file-shared-state.js";
import { applyUsage, assertRecord, assertSettings, checkUpdated, cloneJson, type UsageTotals } from "./records.js";
import type { Store, StoreChange, StoredSettings, UsageDelta } from "./types.js";
import { DEFAULT_USAGE_FLUSH_MS, UsageBatcher, errText, type StoreLog } from "./usage.js";

export { FILE_NAMES, type FileCodec } from "./file-format.js";
export { checkKv, checkSlot } from "./arguments.js";

export interface FileStoreOptions {
  dataDir: string;
  log?: StoreLog;
  usageFlushMs?: number;
  /** Import the original Grok2API's token.json / setting.toml when ours do not exist yet (default true). */
  importLegacy?: boolean;
  /** Encodes the data files at rest (opt-in; the first store opened on a directory decides). */
  codec?: FileCodec;
}

export class FileStore implements Store {
  readonly mode = "file" as const;
  private st: SharedFileState | null = null;
  private closed = false;
  private readonly dir: string;
  private readonly log: StoreLog;
  private readonly usage: UsageBatcher;
  private readonly importLegacy: boolean;
  private readonly codec: FileCodec | undefined;

  constructor(opts: FileStoreOptions) {
    this.dir = path.resolve(opts.dataDir);
    this.codec = opts.codec;
    this.importLegacy = opts.importLegacy !== false;
    this.log = opts.log ?? (() => undefined);
    this.usage = new UsageBatcher((b) => this.applyUsage(b), this.log, opts.usageFlushMs ?? DEFAULT_USAGE_FLUSH_MS);
  }

  get problems(): string[] {
    return this.st ? [...this.st.problems] : [];
  }

  private s(): SharedFileState {
    if (!this.st) throw new Error(this.closed ? "the store is closed" : "the store is not initialised: call init() first");
    return this.st;
  }

  async init(): Promise<void> {
    if (this.st || this.closed) throw new Error("init() may only be called once");
    this.st = await acquireShared(this.dir, this.log, this.importLegacy, this.codec);
  }

  async close(): Promise<void> {
    if (!this.st) return;
    const st = this.st;
    try {
      await this.usage.close();
    } finally {
      for (const l of [...st.listeners]) if (l.owner === this) st.listeners.delete(l);
      this.st = null;
      this.closed = true;
      await releaseShared(st);
    }
  }

  private emit(change: StoreChange): void {
    const st = this.s();
    for (const l of st.listeners) {
      if (l.owner === this) continue;
      queueMicrotask(() => {
        try {
          l.fn(change);
        } catch (e) {
          this.log("error", `store change listener failed: ${errText(e)}`);
        }
      });
    }
  }

  // ---- settings ----
  async getSettings(): Promise<StoredSettings> {
    return cloneJson(this.s().settings);
  }

  async saveSettings(settings: StoredSettings): Promise<void> {
    assertSettings(settings, "saveSettings");
    const st = this.s();
    st.settings = cloneJson(settings);
    await st.writers.settings.save();
    this.emit({ kind: "settings" });
  }

  async updateSettings(update: (current: StoredSettings) => StoredSettings): Promise<StoredSettings> {
    const st = this.s();
    // Synchronous read-modify-write: nothing else can run in between inside this process.
    const next = update(cloneJson(st.settings));
    assertSettings(next, "updateSettings");
    st.settings = cloneJson(next);
    await st.writers.settings.save();
    this.emit({ kind: "settings" });
    return cloneJson(next);
  }

  // ---- accounts ----
  async listAccounts(): Promise<AccountRecord[]> {
    return cloneJson([...this.s().accounts.values()]);
  }

  async getAccount(token: string): Promise<AccountRecord | null> {
    const r = this.s().accounts.get(token);
    return r ? cloneJson(r) : null;
  }

  async putAccounts(records: AccountRecord[]): Promise<void> {
    const st = this.s();
    for (const r of records) assertRecord(r, "putAccounts");
    if (records.length === 0) return;
    for (const r of records) st.accounts.set(r.token, cloneJson(r));
    await st.writers.accounts.save();
    this.emit({ kind: "accounts", tokens: [...new Set(records.map((r) => r.token))] });
  }

  async updateAccount(token: string, update: (current: AccountRecord) => AccountRecord | null): Promise<AccountRecord | null> {
    const st = this.s();
    const cur = st.accounts.get(token);
    if (!cur) return null;
    // Synchronous read-modify-write: nothing else can run in between inside this process.
    const next = checkUpdated(token, update(cloneJson(cur)));
    if (!next) return cloneJson(cur);
    const stored = cloneJson(next);
    st.accounts.set(token, stored);
    await st.writers.accounts.save();
    this.emit({ kind: "accounts", tokens: [token] });
    return cloneJson(stored);
  }

  async deleteAccounts(tokens: string[]): Promise<number> {
    const st = this.s();
    let n = 0;
    const gone: string[] = [];
    for (const t of new Set(tokens)) {
      if (st.accounts.delete(t)) {
        n++;
        gone.push(t);
      }
    }
    if (n === 0) return 0;
    await st.writers.accounts.save();
    this.emit({ kind: "accounts", tokens: gone });
    return n;
  }

  recordUsage(delta: UsageDelta): void {
    this.s();
    this.usage.record(delta);
  }

  flush(): Promise<void> {
    this.s();
    return this.usage.flush();
  }

  private async applyUsage(batch: Map<string, UsageTotals>): Promise<void> {
    const st = this.st;
    if (!st) return;
    const touched: string[] = [];
    for (const [token, u] of batch) {
      const cur = st.accounts.get(token);
      if (!cur) continue; // deleted meanwhile
      st.accounts.set(token, applyUsage(cur, u));
      touched.push(token);
    }
    if (!touched.length) return;
    await st.writers.accounts.save();
    this.emit({ kind: "accounts", tokens: touched });
  }

  // ---- kv ----
  async kvGet(key: string): Promise<string | null> {
    const st = this.s();
    const e = st.kv.get(key);
    if (!e) return null;
    if (e.expiresAt !== null && e.expiresAt <= Date.now()) {
      st.kv.delete(key); // dropped from the file at the next kv write
      return null;
    }
    return e.value;
  }

  async kvSet(key: string, value: string, ttlMs?: number): Promise<void> {
    checkKv(key, value, ttlMs);
    const st = this.s();
    st.kv.set(key, { value, expiresAt: ttlMs === undefined ? null : Date.now() + ttlMs });
    await st.writers.kv.save();
  }

  async kvDelete(key: string): Promise<void> {
    const st = this.s();
    if (!st.kv.delete(key)) return;
    await st.writers.kv.save();
  }

  // ---- slots (in memory: file mode is single-process) ----
  private liveSlots(token: string): Map<string, number> {
    const st = this.s();
    let m = st.slots.get(token);
    if (!m) {
      m = new Map();
      st.slots.set(token, m);
    }
    const now = Date.now();
    for (const [lease, exp] of m) if (exp <= now) m.delete(lease);
    return m;
  }

  async acquireSlot(token: string, leaseId: string, cap: number, ttlMs: number): Promise<boolean> {
    checkSlot(leaseId, cap, ttlMs);
    const m = this.liveSlots(token);
    if (!m.has(leaseId) && m.size >= cap) return false;
    m.set(leaseId, Date.now() + ttlMs);
    return true;
  }

  async releaseSlot(token: string, leaseId: string): Promise<void> {
    const st = this.s();
    const m = st.slots.get(token);
    if (!m) return;
    m.delete(leaseId);
    if (m.size === 0) st.slots.delete(token);
  }

  async slotCount(token: string): Promise<number> {
    const st = this.s();
    if (!st.slots.has(token)) return 0;
    const n = this.liveSlots(token).size;
    if (n === 0) st.slots.delete(token);
    return n;
  }

  // ---- change feed: other store instances in this process ----
  onChange(listener: (change: StoreChange) => void): () => void {
    const st = this.s();
    const l: Listener = { owner: this, fn: listener };
    st.listeners.add(l);
    return () => {
      st.listeners.delete(l);
    };
  }
}
