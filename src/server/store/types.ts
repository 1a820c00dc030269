import type { AccountRecord } from "../core/account.js";

export type StorageMode = "file" | "mysql" | "redis";

/** Settings as stored: sections keyed by name ("global", "grok", …), each a flat JSON object. */
export type StoredSettings = Record<string, Record<string, unknown>>;

/** A change seen by this process that another process (or this one) made. */
export type StoreChange =
  | { kind: "settings" }
  | { kind: "accounts"; tokens: string[] | "all" };

/** Per-account counters that may be batched (flushed at most 1 s later, and on close()). */
export interface UsageDelta {
  token: string;
  uses?: number;
  failures?: number;
  lastUsedAt?: number;
}

/**
 * The one storage contract. Every backend (file, MySQL, Redis) implements it and passes
 * the same contract suite (test/store/contract.ts).
 *
 * Durability: every method except recordUsage() resolves only after the data is durably
 * stored (file: atomic rename done; MySQL: committed; Redis: command acknowledged).
 */
export interface Store {
  readonly mode: StorageMode;
  /**
   * Problems found while opening the store that did not stop it (e.g. a corrupt data file that was
   * moved aside to `<name>.corrupt-<timestamp>`, a second process using the same data dir).
   * Empty when all is well. Optional so other Store implementations (test doubles) need not have it.
   */
  readonly problems?: string[];
  /** Connects, runs migrations, loads files. Must be called once before anything else. */
  init(): Promise<void>;
  /** Flushes batched usage and releases connections/timers. */
  close(): Promise<void>;

  // ---- settings ----
  getSettings(): Promise<StoredSettings>;
  /** Replaces the whole settings object. */
  saveSettings(settings: StoredSettings): Promise<void>;
  /**
   * Atomic read-modify-write of the settings (no lost update across processes): `update` gets
   * the current stored settings and returns the new ones; resolves to what was stored. `update`
   * may run more than once (retries after a conflict) and must have no side effects.
   */
  updateSettings(update: (current: StoredSettings) => StoredSettings): Promise<StoredSettings>;

  // ---- accounts ----
  listAccounts(): Promise<AccountRecord[]>;
  getAccount(token: string): Promise<AccountRecord | null>;
  /** Inserts or replaces whole records. */
  putAccounts(records: AccountRecord[]): Promise<void>;
  /**
   * Atomically read-modify-write one record (no lost update across processes).
   * `update` receives the current record and returns the new one (or null to leave it unchanged).
   * Resolves to the stored record, or null when the token does not exist.
   */
  updateAccount(token: string, update: (current: AccountRecord) => AccountRecord | null): Promise<AccountRecord | null>;
  /** Deletes; resolves to how many existed. */
  deleteAccounts(tokens: string[]): Promise<number>;
  /** Batched usage counters (≤ 1 s delay; flushed on close()). */
  recordUsage(delta: UsageDelta): void;
  /** Forces the batched usage out now. */
  flush(): Promise<void>;

  // ---- small key/value with optional expiry (admin password hash, admin sessions, statsig cache…) ----
  kvGet(key: string): Promise<string | null>;
  kvSet(key: string, value: string, ttlMs?: number): Promise<void>;
  kvDelete(key: string): Promise<void>;

  // ---- cross-process concurrency slots (per-account in-flight caps) ----
  /**
   * Takes one of `cap` slots of `token` for `leaseId`, expiring after ttlMs if never released
   * (crash safety). Resolves false when all slots are taken. Atomic across processes.
   */
  acquireSlot(token: string, leaseId: string, cap: number, ttlMs: number): Promise<boolean>;
  releaseSlot(token: string, leaseId: string): Promise<void>;
  /** Current number of held (unexpired) slots for a token. */
  slotCount(token: string): Promise<number>;

  // ---- change feed ----
  /**
   * Calls `listener` when settings or accounts were changed by another process (and may also
   * for this one). File mode: may never call. MySQL: polling (≤ 2 s). Redis: pub/sub.
   * Returns an unsubscribe function.
   */
  onChange(listener: (change: StoreChange) => void): () => void;
}
