/**
 * Redis backend (ioredis). Keys, under a prefix (default "g2a:"):
 *   <p>accounts          hash   field = token, value = record JSON
 *   <p>settings          string settings JSON
 *   <p>kv:<key>          string with PX expiry
 *   <p>slots:<sha256>    zset   member = lease id, score = expiry (ms, Redis clock)
 *   <p>schema            string data layout version
 *   channel <p>changes   pub/sub change feed: {"o": origin, "k": kind, "t": tokens | "all"}
 *
 * Every write that changes settings/accounts publishes on the channel in the same MULTI or
 * script, so a change is never stored without being announced. updateAccount and usage
 * batches use compare-and-set scripts (the record is replaced only if it is still byte-for-byte
 * what was read; otherwise re-read and retry) — no WATCH, so one connection serves everything.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { AccountRecord } from "../core/account.js";
import { checkKv, checkSlot } from "./file-store.js";
import { importLegacyFromRedis } from "./legacy.js";
import { applyUsage, assertRecord, assertSettings, checkUpdated, isPlainObject, sleep, tokenHash, type UsageTotals } from "./records.js";
import type { Store, StoreChange, StoredSettings, UsageDelta } from "./types.js";
import { DEFAULT_USAGE_FLUSH_MS, UsageBatcher, errText, type StoreLog } from "./usage.js";

export const REDIS_SCHEMA_VERSION = 1;
const ALL_THRESHOLD = 200;
const CAS_ATTEMPTS = 200;
const LEGACY_MARKER = "legacy-import-checked";

/** KEYS[1]=accounts hash; ARGV: token, expected JSON, new JSON, channel, message. 1 = written, 0 = changed meanwhile, -1 = gone. */
const CAS_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return -1 end
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`;

/** KEYS[1]=settings key; ARGV: expected (or "" for absent), next, channel, message. */
const CAS_KEY_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if not cur then cur = '' end
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

/** KEYS[1]=slot zset; ARGV: lease, cap, ttl ms. Purge expired, then take a slot if one is free. */
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ttl = tonumber(ARGV[3])
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not held) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

/** KEYS[1]=slot zset. Unexpired count, by the Redis clock. */
const COUNT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`;

interface ScriptedRedis extends Redis {
  g2aCas(key: string, token: string, expected: string, next: string, channel: string, message: string): Promise<number>;
  g2aCasKey(key: string, expected: string, next: string, channel: string, message: string): Promise<number>;
  g2aAcquire(key: string, lease: string, cap: number, ttl: number): Promise<number>;
  g2aCount(key: string): Promise<number>;
}

export interface RedisStoreOptions {
  url: string;
  keyPrefix?: string;
  log?: StoreLog;
  usageFlushMs?: number;
  /** Import the original Grok2API keys grok:tokens / grok:settings on first start (default true). */
  importLegacy?: boolean;
}

/** Checks a redis:// or rediss:// URL (ioredis parses it; this gives a clear error first). */
export function checkRedisUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error("DATABASE_URL is not a valid URL (expected redis://[user:pass@]host:6379/0)");
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new Error(`DATABASE_URL for Redis must start with redis:// or rediss:// (got ${u.protocol}//)`);
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) throw new Error(`DATABASE_URL: Redis database must be a number, got "${db}"`);
  return u;
}

interface ChangeMessage {
  o: string;
  k: "settings" | "accounts";
  t?: string[] | "all";
}

export class RedisStore implements Store {
  readonly mode = "redis" as const;
  readonly problems: string[] = [];
  private client: ScriptedRedis | null = null;
  private sub: Redis | null = null;
  private readonly prefix: string;
  private readonly origin = randomUUID();
  private readonly log: StoreLog;
  private readonly usage: UsageBatcher;
  private listeners = new Set<(c: StoreChange) => void>();
  private closed = false;
  private lastErr = "";

  constructor(private readonly opts: RedisStoreOptions) {
    checkRedisUrl(opts.url);
    this.prefix = opts.keyPrefix ?? "g2a:";
    this.log = opts.log ?? (() => undefined);
    this.usage = new UsageBatcher((b) => this.applyUsage(b), this.log, opts.usageFlushMs ?? DEFAULT_USAGE_FLUSH_MS);
  }

  /** Key names (exposed for tests and tools). */
  get keys() {
    const p = this.prefix;
    return {
      accounts: `${p}accounts`,
      settings: `${p}settings`,
      schema: `${p}schema`,
      channel: `${p}changes`,
      kv: (k: string) => `${p}kv:${k}`,
      slots: (token: string) => `${p}slots:${tokenHash(token)}`,
    };
  }

  private c(): ScriptedRedis {
    if (!this.client) throw new Error(this.closed ? "the store is closed" : "the store is not initialised: call init() first");
    return this.client;
  }

  private connect(): Redis {
    const r = new Redis(this.opts.url, { lazyConnect: true, connectTimeout: 10_000, maxRetriesPerRequest: 20 });
    r.on("error", (e: Error) => {
      // ioredis reconnects by itself; log each distinct error once
      if (e.message !== this.lastErr) this.log("warn", `Redis: ${e.message}`);
      this.lastErr = e.message;
    });
    r.on("ready", () => (this.lastErr = ""));
    return r;
  }

  async init(): Promise<void> {
    if (this.client || this.closed) throw new Error("init() may only be called once");
    const client = this.connect() as ScriptedRedis;
    const sub = this.connect();
    try {
      await client.connect();
      await sub.connect();
    } catch (e) {
      client.disconnect();
      sub.disconnect();
      const u = new URL(this.opts.url);
      throw new Error(`Redis connection to ${u.hostname}:${u.port || 6379} failed: ${errText(e)}`);
    }
    client.defineCommand("g2aCas", { numberOfKeys: 1, lua: CAS_SCRIPT });
    client.defineCommand("g2aCasKey", { numberOfKeys: 1, lua: CAS_KEY_SCRIPT });
    client.defineCommand("g2aAcquire", { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
    client.defineCommand("g2aCount", { numberOfKeys: 1, lua: COUNT_SCRIPT });
    const k = this.keys;
    try {
      await client.set(k.schema, String(REDIS_SCHEMA_VERSION), "NX");
      const v = Number(await client.get(k.schema));
      if (v > REDIS_SCHEMA_VERSION) {
        const msg = `the Redis data layout (version ${v}) is newer than this app knows (${REDIS_SCHEMA_VERSION})`;
        this.problems.push(msg);
        this.log("warn", msg);
      }
      sub.on("message", (channel: string, message: string) => {
        if (channel === k.channel) this.onMessage(message);
      });
      await sub.subscribe(k.channel);
      // Pub/sub does not queue: after a reconnect (ioredis resubscribes by itself) changes made
      // meanwhile are unknown, so listeners are told to reload everything.
      sub.on("ready", () => {
        this.deliver({ kind: "settings" });
        this.deliver({ kind: "accounts", tokens: "all" });
      });
      this.client = client;
      this.sub = sub;
      if (this.opts.importLegacy !== false) await this.importLegacyOnce();
    } catch (e) {
      this.client = null;
      this.sub = null;
      client.disconnect();
      sub.disconnect();
      throw e;
    }
  }

  /** First start on a Redis the original Grok2API used: copy grok:tokens / grok:settings once. */
  private async importLegacyOnce(): Promise<void> {
    const c = this.c();
    const k = this.keys;
    const marker = `${this.prefix}${LEGACY_MARKER}`;
    if (await c.exists(marker)) return;
    // Only one process may do it: claim the marker first, give it back on failure.
    // (the claim expires by itself should this process die half-way)
    if ((await c.set(marker, "importing", "PX", 60_000, "NX")) !== "OK") return;
    try {
      const [accounts, settings] = await Promise.all([c.hlen(k.accounts), c.exists(k.settings)]);
      if (accounts > 0 || settings > 0) {
        await c.set(marker, "store already had data");
        return;
      }
      const legacy = await importLegacyFromRedis(c);
      let note = "no original Grok2API keys found";
      if (legacy.found.tokens || legacy.found.settings) {
        const m = c.multi();
        if (legacy.accounts.length) m.hset(k.accounts, ...legacy.accounts.flatMap((r) => [r.token, JSON.stringify(r)]));
        if (legacy.settings) m.set(k.settings, JSON.stringify(legacy.settings));
        m.publish(k.channel, JSON.stringify({ o: this.origin, k: "accounts", t: "all" } satisfies ChangeMessage));
        await m.exec();
        note = `imported ${legacy.accounts.length} account(s)${legacy.settings ? " and settings" : ""} from the original Grok2API keys grok:tokens/grok:settings (left untouched)`;
        this.log("info", note);
      }
      await c.set(marker, note);
    } catch (e) {
      await c.del(marker).catch(() => undefined);
      const msg = `the original Grok2API keys could not be imported: ${errText(e)}`;
      this.problems.push(msg);
      this.log("error", msg);
    }
  }

  async close(): Promise<void> {
    if (!this.client) return;
    const client = this.client;
    const sub = this.sub;
    try {
      await this.usage.close();
    } finally {
      this.closed = true;
      this.client = null;
      this.sub = null;
      this.listeners.clear();
      await sub?.quit().catch(() => sub.disconnect());
      await client.quit().catch(() => client.disconnect());
    }
  }

  private message(kind: "settings" | "accounts", tokens?: string[] | "all"): string {
    const msg: ChangeMessage = { o: this.origin, k: kind };
    if (kind === "accounts") msg.t = tokens === "all" || !tokens || tokens.length > ALL_THRESHOLD ? "all" : tokens;
    return JSON.stringify(msg);
  }

  private onMessage(raw: string): void {
    let m: ChangeMessage;
    try {
      m = JSON.parse(raw) as ChangeMessage;
    } catch {
      return;
    }
    if (!m || m.o === this.origin) return;
    this.deliver(m.k === "settings" ? { kind: "settings" } : { kind: "accounts", tokens: Array.isArray(m.t) ? m.t : "all" });
  }

  private deliver(change: StoreChange): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (e) {
        this.log("error", `store change listener failed: ${errText(e)}`);
      }
    }
  }

  /** Runs a MULTI and throws on any failed command in it. */
  private async exec(m: ReturnType<Redis["multi"]>): Promise<unknown[]> {
    const res = await m.exec();
    if (!res) throw new Error("Redis transaction was aborted");
    return res.map(([err, v]) => {
      if (err) throw err;
      return v;
    });
  }

  // ---- settings ----
  async getSettings(): Promise<StoredSettings> {
    const raw = await this.c().get(this.keys.settings);
    if (!raw) return {};
    const parsed = JSON.parse(raw) as unknown;
    return isPlainObject(parsed) ? (parsed as StoredSettings) : {};
  }

  async saveSettings(settings: StoredSettings): Promise<void> {
    assertSettings(settings, "saveSettings");
    const c = this.c();
    await this.exec(c.multi().set(this.keys.settings, JSON.stringify(settings)).publish(this.keys.channel, this.message("settings")));
  }

  async updateSettings(update: (current: StoredSettings) => StoredSettings): Promise<StoredSettings> {
    const c = this.c();
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const raw = (await c.get(this.keys.settings)) ?? "";
      const parsed = raw ? (JSON.parse(raw) as unknown) : {};
      const next = update(isPlainObject(parsed) ? (parsed as StoredSettings) : {});
      assertSettings(next, "updateSettings");
      if ((await c.g2aCasKey(this.keys.settings, raw, JSON.stringify(next), this.keys.channel, this.message("settings"))) === 1) return next;
      if (attempt > 2) await sleep(Math.random() * Math.min(50, 2 * attempt));
    }
    throw new Error(`updateSettings: gave up after ${CAS_ATTEMPTS} conflicting writes`);
  }

  // ---- accounts ----
  async listAccounts(): Promise<AccountRecord[]> {
    const all = await this.c().hgetall(this.keys.accounts);
    const list = Object.values(all).map((v) => JSON.parse(v) as AccountRecord);
    // a hash has no stable order: oldest first, then by token
    return list.sort((a, b) => a.createdAt - b.createdAt || (a.token < b.token ? -1 : a.token > b.token ? 1 : 0));
  }

  async getAccount(token: string): Promise<AccountRecord | null> {
    const raw = await this.c().hget(this.keys.accounts, token);
    return raw ? (JSON.parse(raw) as AccountRecord) : null;
  }

  async putAccounts(records: AccountRecord[]): Promise<void> {
    const c = this.c();
    for (const r of records) assertRecord(r, "putAccounts");
    if (!records.length) return;
    const last = new Map(records.map((r) => [r.token, r]));
    const m = c.multi();
    const entries = [...last.values()];
    for (let i = 0; i < entries.length; i += 500) {
      m.hset(this.keys.accounts, ...entries.slice(i, i + 500).flatMap((r) => [r.token, JSON.stringify(r)]));
    }
    m.publish(this.keys.channel, this.message("accounts", [...last.keys()]));
    await this.exec(m);
  }

  /** Read → compute → compare-and-set, retried while another writer got there first. */
  private async casLoop(token: string, compute: (cur: AccountRecord) => AccountRecord | null): Promise<{ stored: AccountRecord; written: boolean } | null> {
    const c = this.c();
    const k = this.keys;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const raw = await c.hget(k.accounts, token);
      if (raw === null) return null;
      const next = compute(JSON.parse(raw) as AccountRecord);
      if (!next) return { stored: JSON.parse(raw) as AccountRecord, written: false };
      const res = await c.g2aCas(k.accounts, token, raw, JSON.stringify(next), k.channel, this.message("accounts", [token]));
      if (res === 1) return { stored: next, written: true };
      if (res === -1) return null;
      if (attempt > 2) await sleep(Math.random() * Math.min(50, 2 * attempt));
    }
    throw new Error(`updateAccount: gave up after ${CAS_ATTEMPTS} conflicting writes on one account`);
  }

  async updateAccount(token: string, update: (current: AccountRecord) => AccountRecord | null): Promise<AccountRecord | null> {
    const r = await this.casLoop(token, (cur) => checkUpdated(token, update(cur)));
    return r ? r.stored : null;
  }

  async deleteAccounts(tokens: string[]): Promise<number> {
    const c = this.c();
    const unique = [...new Set(tokens)];
    if (!unique.length) return 0;
    const m = c.multi();
    for (let i = 0; i < unique.length; i += 500) m.hdel(this.keys.accounts, ...unique.slice(i, i + 500));
    m.publish(this.keys.channel, this.message("accounts", unique));
    const res = await this.exec(m);
    return res.slice(0, -1).reduce<number>((n, v) => n + Number(v), 0);
  }

  recordUsage(delta: UsageDelta): void {
    this.c();
    this.usage.record(delta);
  }

  flush(): Promise<void> {
    this.c();
    return this.usage.flush();
  }

  private async applyUsage(batch: Map<string, UsageTotals>): Promise<void> {
    const entries = [...batch];
    // a few at a time: each is an independent compare-and-set on one record
    for (let i = 0; i < entries.length; i += 32) {
      await Promise.all(entries.slice(i, i + 32).map(([token, u]) => this.casLoop(token, (cur) => applyUsage(cur, u))));
    }
  }

  // ---- kv ----
  async kvGet(key: string): Promise<string | null> {
    return this.c().get(this.keys.kv(key));
  }

  async kvSet(key: string, value: string, ttlMs?: number): Promise<void> {
    checkKv(key, value, ttlMs);
    const c = this.c();
    if (ttlMs === undefined) await c.set(this.keys.kv(key), value);
    else await c.set(this.keys.kv(key), value, "PX", Math.ceil(ttlMs));
  }

  async kvDelete(key: string): Promise<void> {
    await this.c().del(this.keys.kv(key));
  }

  // ---- slots ----
  async acquireSlot(token: string, leaseId: string, cap: number, ttlMs: number): Promise<boolean> {
    checkSlot(leaseId, cap, ttlMs);
    return (await this.c().g2aAcquire(this.keys.slots(token), leaseId, cap, Math.ceil(ttlMs))) === 1;
  }

  async releaseSlot(token: string, leaseId: string): Promise<void> {
    await this.c().zrem(this.keys.slots(token), leaseId);
  }

  async slotCount(token: string): Promise<number> {
    return Number(await this.c().g2aCount(this.keys.slots(token)));
  }

  // ---- change feed (pub/sub) ----
  onChange(listener: (change: StoreChange) => void): () => void {
    this.c();
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
