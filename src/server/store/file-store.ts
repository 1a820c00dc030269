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
 */
import { copyFile, mkdir, rename, unlink } from "node:fs/promises";
import path from "node:path";
import type { AccountRecord } from "../core/account.js";
import { FileWriter, pidAlive, readTextIfExists, removeStaleTempFiles, writeFileAtomic } from "./atomic-file.js";
import { importLegacyTokenJson, parseLegacySettingsToml } from "./legacy.js";
import { applyUsage, assertRecord, assertSettings, checkUpdated, cloneJson, isPlainObject, normalizeRecord, type UsageTotals } from "./records.js";
import type { Store, StoreChange, StoredSettings, UsageDelta } from "./types.js";
import { DEFAULT_USAGE_FLUSH_MS, UsageBatcher, errText, type StoreLog } from "./usage.js";

export const FILE_NAMES = { settings: "settings.json", accounts: "accounts.json", kv: "kv.json", lock: ".grok2api-store.lock" } as const;
const ACCOUNTS_FORMAT = "grok2api-desktop-accounts";

interface KvEntry {
  value: string;
  expiresAt: number | null;
}

interface Listener {
  owner: object;
  fn: (change: StoreChange) => void;
}

interface SharedFileState {
  dir: string;
  refs: number;
  settings: StoredSettings;
  accounts: Map<string, AccountRecord>;
  kv: Map<string, KvEntry>;
  slots: Map<string, Map<string, number>>;
  writers: { settings: FileWriter; accounts: FileWriter; kv: FileWriter };
  listeners: Set<Listener>;
  problems: string[];
}

const registry = new Map<string, Promise<SharedFileState>>();

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-");
}

/**
 * Serialised line per stored record object. Stored records are never mutated in place (every
 * write stores a new object), so a record's line stays valid for as long as the object lives.
 */
const lineCache = new WeakMap<AccountRecord, string>();

function serializeAccounts(accounts: Map<string, AccountRecord>): string {
  // one record per line: readable, diff-friendly and far smaller than full indentation
  const lines: string[] = [];
  for (const r of accounts.values()) {
    let line = lineCache.get(r);
    if (line === undefined) {
      line = "    " + JSON.stringify(r);
      lineCache.set(r, line);
    }
    lines.push(line);
  }
  return `{\n  "format": "${ACCOUNTS_FORMAT}",\n  "version": 1,\n  "accounts": [\n${lines.join(",\n")}${lines.length ? "\n" : ""}  ]\n}\n`;
}

function serializeKv(kv: Map<string, KvEntry>): string {
  const now = Date.now();
  const entries: Record<string, KvEntry> = {};
  for (const [k, e] of kv) {
    if (e.expiresAt === null || e.expiresAt > now) entries[k] = e;
    else kv.delete(k); // expired: gone from memory and file alike
  }
  return JSON.stringify({ version: 1, entries }, null, 2) + "\n";
}

/**
 * Optional encoding of the data files at rest (the desktop app seals them with the OS keychain).
 * `decode` must accept what `encode` wrote and should accept plain JSON from before; a file it
 * cannot decode is treated like one that does not parse (kept aside, reported).
 */
export interface FileCodec {
  encode(text: string): string;
  decode(text: string): string;
}

async function loadShared(dir: string, log: StoreLog, importLegacy: boolean, codec?: FileCodec): Promise<SharedFileState> {
  await mkdir(dir, { recursive: true });
  const problems: string[] = [];
  const file = (name: string) => path.join(dir, name);

  const removed = await removeStaleTempFiles(dir, [FILE_NAMES.settings, FILE_NAMES.accounts, FILE_NAMES.kv]);
  if (removed.length) log("warn", `removed ${removed.length} unfinished temp file(s) left by an interrupted write: ${removed.join(", ")}`);

  // ---- lock file: detect a second process on the same directory ----
  const lockText = await readTextIfExists(file(FILE_NAMES.lock));
  if (lockText) {
    let other = 0;
    try {
      other = Number((JSON.parse(lockText) as { pid?: unknown }).pid);
    } catch {
      /* unreadable lock: overwrite */
    }
    if (other && other !== process.pid && pidAlive(other)) {
      const msg = `data directory ${dir} is also used by process ${other}; file storage is single-process (use STORAGE_MODE=mysql or redis to share accounts between processes)`;
      problems.push(msg);
      log("warn", msg);
    }
  }
  await writeFileAtomic(file(FILE_NAMES.lock), JSON.stringify({ pid: process.pid, startedAt: Date.now() }) + "\n");

  /** Moves a bad file aside (never deletes it) and records the problem. */
  const quarantine = async (name: string, reason: string): Promise<void> => {
    const backup = `${name}.corrupt-${stamp()}`;
    await rename(file(name), file(backup));
    const msg = `${name} could not be read (${reason}); it was kept as ${backup} and the store started with empty ${name.replace(".json", "")}`;
    problems.push(msg);
    log("error", msg);
  };
  const readJson = async (name: string, validate: (v: unknown) => string | null): Promise<unknown | null> => {
    const stored = await readTextIfExists(file(name));
    if (stored === null) return null;
    let text = stored;
    try {
      if (codec) text = codec.decode(stored);
    } catch (e) {
      await quarantine(name, `could not be decoded: ${errText(e)}`);
      return undefined;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      await quarantine(name, `invalid JSON: ${errText(e)}`);
      return undefined;
    }
    const bad = validate(parsed);
    if (bad) {
      await quarantine(name, bad);
      return undefined;
    }
    return parsed;
  };

  // ---- settings ----
  let settings: StoredSettings = {};
  let importedSettings = false;
  const rawSettings = await readJson(FILE_NAMES.settings, (v) => {
    try {
      assertSettings(v, FILE_NAMES.settings);
      return null;
    } catch (e) {
      return errText(e);
    }
  });
  if (rawSettings) settings = rawSettings as StoredSettings;
  else if (rawSettings === null && importLegacy) {
    const toml = await readTextIfExists(file("setting.toml"));
    if (toml !== null) {
      try {
        settings = parseLegacySettingsToml(toml);
        importedSettings = true;
        log("info", `imported settings sections [${Object.keys(settings).join(", ")}] from the original Grok2API setting.toml (the file is left untouched)`);
      } catch (e) {
        const msg = `setting.toml (original Grok2API) could not be imported: ${errText(e)}; it is left untouched`;
        problems.push(msg);
        log("error", msg);
      }
    }
  }

  // ---- accounts ----
  const accounts = new Map<string, AccountRecord>();
  let importedAccounts = false;
  const rawAccounts = await readJson(FILE_NAMES.accounts, (v) => {
    if (Array.isArray(v)) return null;
    if (isPlainObject(v) && Array.isArray(v.accounts)) return null;
    return `expected {"accounts": [...]}`;
  });
  if (rawAccounts) {
    const list = (Array.isArray(rawAccounts) ? rawAccounts : (rawAccounts as { accounts: unknown[] }).accounts) as unknown[];
    let invalid = 0;
    for (const item of list) {
      const rec = normalizeRecord(item);
      if (rec) accounts.set(rec.token, rec);
      else invalid++;
    }
    if (invalid) {
      const backup = `${FILE_NAMES.accounts}.corrupt-${stamp()}`;
      await copyFile(file(FILE_NAMES.accounts), file(backup));
      const msg = `${FILE_NAMES.accounts}: ${invalid} entr${invalid === 1 ? "y has" : "ies have"} no usable token and will be dropped at the next write; the full file was copied to ${backup}`;
      problems.push(msg);
      log("error", msg);
    }
  } else if (rawAccounts === null && importLegacy) {
    const legacy = await readTextIfExists(file("token.json"));
    if (legacy !== null) {
      try {
        for (const rec of importLegacyTokenJson(JSON.parse(legacy))) accounts.set(rec.token, rec);
        importedAccounts = true;
        log("info", `imported ${accounts.size} account(s) from the original Grok2API token.json (the file is left untouched)`);
      } catch (e) {
        const msg = `token.json (original Grok2API) could not be imported: ${errText(e)}; it is left untouched`;
        problems.push(msg);
        log("error", msg);
      }
    }
  }

  // ---- kv ----
  const kv = new Map<string, KvEntry>();
  const rawKv = await readJson(FILE_NAMES.kv, (v) => (isPlainObject(v) && isPlainObject(v.entries) ? null : `expected {"entries": {...}}`));
  if (rawKv) {
    const now = Date.now();
    for (const [k, e] of Object.entries((rawKv as { entries: Record<string, unknown> }).entries)) {
      if (!isPlainObject(e) || typeof e.value !== "string") continue;
      const expiresAt = typeof e.expiresAt === "number" ? e.expiresAt : null;
      if (expiresAt === null || expiresAt > now) kv.set(k, { value: e.value, expiresAt });
    }
  }

  const encode = (text: string) => (codec ? codec.encode(text) : text);
  const st: SharedFileState = {
    dir,
    refs: 0,
    settings,
    accounts,
    kv,
    slots: new Map(),
    listeners: new Set(),
    problems,
    writers: {
      settings: new FileWriter(file(FILE_NAMES.settings), () => encode(JSON.stringify(st.settings, null, 2) + "\n")),
      accounts: new FileWriter(file(FILE_NAMES.accounts), () => encode(serializeAccounts(st.accounts))),
      kv: new FileWriter(file(FILE_NAMES.kv), () => encode(serializeKv(st.kv))),
    },
  };
  if (importedSettings) await st.writers.settings.save();
  if (importedAccounts) await st.writers.accounts.save();
  return st;
}

async function acquireShared(dir: string, log: StoreLog, importLegacy: boolean, codec?: FileCodec): Promise<SharedFileState> {
  let p = registry.get(dir);
  if (!p) {
    p = loadShared(dir, log, importLegacy, codec);
    registry.set(dir, p);
    p.catch(() => registry.delete(dir));
  }
  const st = await p;
  st.refs++;
  return st;
}

async function releaseShared(st: SharedFileState): Promise<void> {
  st.refs--;
  if (st.refs > 0) return;
  await Promise.all([st.writers.settings.whenIdle(), st.writers.accounts.whenIdle(), st.writers.kv.whenIdle()]);
  if (st.refs > 0) return; // re-opened meanwhile
  registry.delete(st.dir);
  const lockFile = path.join(st.dir, FILE_NAMES.lock);
  const lock = await readTextIfExists(lockFile).catch(() => null);
  if (lock && lock.includes(`"pid":${process.pid},`)) await unlink(lockFile).catch(() => undefined);
}

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

export function checkKv(key: string, value: string, ttlMs?: number): void {
  if (typeof key !== "string" || key.length === 0) throw new TypeError("kvSet: key must be a non-empty string");
  if (typeof value !== "string") throw new TypeError("kvSet: value must be a string");
  if (ttlMs !== undefined && (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0)) {
    throw new TypeError("kvSet: ttlMs must be a positive number of milliseconds");
  }
}

export function checkSlot(leaseId: string, cap: number, ttlMs: number): void {
  if (typeof leaseId !== "string" || leaseId.length === 0) throw new TypeError("acquireSlot: leaseId must be a non-empty string");
  if (!Number.isInteger(cap) || cap < 0) throw new TypeError("acquireSlot: cap must be an integer ≥ 0");
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError("acquireSlot: ttlMs must be a positive number");
}
