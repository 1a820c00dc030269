/**
 * Storage entry point: picks the backend from STORAGE_MODE (file | mysql | redis) and
 * DATABASE_URL. See types.ts for the Store contract.
 *
 * The MySQL and Redis backends (and their drivers, mysql2 and ioredis) are loaded only when
 * chosen: createStore imports them dynamically, so a file-mode server never loads either.
 * Import MysqlStore / RedisStore from their own modules when you need the classes.
 */
import { type FileCodec, FileStore } from "./file-store.js";
import { MODES, modeOfUrl, redactUrl } from "./mode.js";
import type { StorageMode, Store } from "./types.js";

export type { StorageMode, Store, StoreChange, StoredSettings, UsageDelta } from "./types.js";
export { type FileCodec, FileStore } from "./file-store.js";
export * from "./legacy.js";
export { modeOfUrl, parseStorageMode, redactUrl } from "./mode.js";

export type StoreLogFn = (level: "info" | "warn" | "error", msg: string) => void;

export interface CreateStoreOptions {
  /** Callers pass env STORAGE_MODE through parseStorageMode(). Default: inferred from databaseUrl, else "file". */
  mode?: StorageMode;
  /** Directory of the file backend (settings.json, accounts.json, kv.json). */
  dataDir: string;
  /** mysql://user:pass@host:port/db, redis://[user:pass@]host:port/db or rediss://… */
  databaseUrl?: string;
  /** Redis key prefix (default "g2a:"). */
  keyPrefix?: string;
  log?: StoreLogFn;
  /** Batching delay of recordUsage (default 750 ms; ≤ 1000 keeps the contract). */
  usageFlushMs?: number;
  /** MySQL change-feed poll interval (default 1000 ms, capped at 2000). */
  pollIntervalMs?: number;
  /** Import the original Grok2API's data (token.json/setting.toml, grok_* tables, grok:* keys) on first start. Default true. */
  importLegacy?: boolean;
  /** File mode only: encodes the data files at rest (see FileCodec). */
  fileCodec?: FileCodec;
}

/** Builds (does not init) the chosen backend; rejects with a clear message on a bad mode/URL combination. */
export async function createStore(opts: CreateStoreOptions): Promise<Store> {
  const url = opts.databaseUrl?.trim() || undefined;
  const log = opts.log;
  const urlMode = url ? modeOfUrl(url) : null;
  const mode: StorageMode = opts.mode ?? urlMode ?? "file";
  if (!MODES.includes(mode)) throw new Error(`unknown storage mode "${String(mode)}" (expected file, mysql or redis)`);

  if (mode === "file") {
    if (url) log?.("warn", `STORAGE_MODE is file: DATABASE_URL (${redactUrl(url)}) is ignored`);
    if (!opts.dataDir) throw new Error("file storage needs a data directory");
    return new FileStore({ dataDir: opts.dataDir, log, usageFlushMs: opts.usageFlushMs, importLegacy: opts.importLegacy, ...(opts.fileCodec ? { codec: opts.fileCodec } : {}) });
  }

  const example = mode === "mysql" ? "mysql://user:password@127.0.0.1:3306/grok2api" : "redis://127.0.0.1:6379/0";
  if (!url) throw new Error(`STORAGE_MODE=${mode} needs DATABASE_URL, e.g. ${example}`);
  if (urlMode !== mode) {
    const shown = redactUrl(url);
    throw new Error(
      urlMode
        ? `STORAGE_MODE=${mode} but DATABASE_URL is a ${urlMode} URL (${shown}); set STORAGE_MODE=${urlMode} or use a URL like ${example}`
        : `DATABASE_URL (${shown}) is not a ${mode} URL; expected something like ${example}`,
    );
  }
  if (mode === "mysql") {
    const { MysqlStore } = await import("./mysql-store.js");
    return new MysqlStore({ url, log, usageFlushMs: opts.usageFlushMs, pollIntervalMs: opts.pollIntervalMs, importLegacy: opts.importLegacy });
  }
  const { RedisStore } = await import("./redis-store.js");
  return new RedisStore({ url, keyPrefix: opts.keyPrefix, log, usageFlushMs: opts.usageFlushMs, importLegacy: opts.importLegacy });
}
